/**
 * Bearer-token guard for the admin API (ADMIN_TOKEN) and the worker API (WORKER_TOKEN).
 * Tokens are compared in constant time over their SHA-256 digests, so neither the content nor
 * the length of the secret leaks through timing. A missing secret rejects everything.
 */
import { UnauthorizedError } from "@budgetfusion/shared/errors";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** Constant-time equality of two strings (compares fixed-length digests, no early exit). */
export async function tokensEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export function bearerAuth(secret: "ADMIN_TOKEN" | "WORKER_TOKEN") {
  return createMiddleware<AppEnv>(async (c, next) => {
    const expected = c.env[secret];
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (expected === undefined || expected === "" || match === null) {
      throw new UnauthorizedError(undefined, { field: "authorization" });
    }
    if (!(await tokensEqual(match[1].trim(), expected))) {
      throw new UnauthorizedError(undefined, { field: "authorization" });
    }
    await next();
  });
}
