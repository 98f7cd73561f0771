/**
 * Bearer-token guards for the admin API (ADMIN_TOKEN) and the worker API (middleware/worker-auth.ts): hono's
 * bearerAuth, so every refusal is a 401 with a `WWW-Authenticate: Bearer` challenge, carrying the
 * project's JSON error body. Tokens are compared in constant time over their SHA-256 digests
 * (workerd's crypto.subtle.timingSafeEqual), so neither the content nor the length of the secret
 * leaks through timing. A missing secret rejects everything.
 */
import { UnauthorizedError } from "@budgetfusion/shared/errors";
import type { Context } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { AppEnv } from "../app-env";
import { errorResponse } from "../http-errors";
import { sha256 } from "../runtime/sha256";

/** Constant-time equality of two strings (fixed-length digests, no early exit). */
export async function tokensEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/**
 * A Bearer guard whose `verify` decides on the token (and may set context variables);
 * `realm` tells clients which token the challenge asks for.
 */
export function bearerGuard(
  realm: string,
  verify: (token: string, c: Context<AppEnv>) => Promise<boolean>,
) {
  const refuse = (message: string) => (c: Context) =>
    errorResponse(c, new UnauthorizedError(message, { field: "authorization" }));
  return bearerAuth<AppEnv>({
    realm,
    verifyToken: verify,
    noAuthenticationHeader: { message: refuse("missing bearer token") },
    // RFC 6750 §3.1: credentials in another scheme are no Bearer credentials at all, so they get
    // the plain challenge and a 401 (hono's default is a 400 invalid_request).
    invalidAuthenticationHeader: {
      wwwAuthenticateHeader: `Bearer realm="${realm}"`,
      message: refuse("authorization must be 'Bearer <token>'"),
    },
    invalidToken: {
      wwwAuthenticateHeader: { realm, error: "invalid_token" },
      message: refuse("invalid bearer token"),
    },
  });
}

/** Whether `token` is the deployment's `secret` (an unset secret matches nothing). */
export async function isSecret(
  c: Context<AppEnv>,
  secret: "ADMIN_TOKEN" | "WORKER_TOKEN",
  token: string,
): Promise<boolean> {
  // Typed as set, but an undeclared secret is absent at run time.
  const expected: string | undefined = c.env[secret];
  return expected !== undefined && expected !== "" && tokensEqual(token, expected);
}

/** The guard for one secret. */
export function requireToken(secret: "ADMIN_TOKEN" | "WORKER_TOKEN", realm: string) {
  return bearerGuard(realm, (token, c) => isSecret(c, secret, token));
}
