/**
 * The worker's bearer-token guard (every route but /healthz): hono's bearerAuth, refusals as the
 * project's JSON 401 with a `WWW-Authenticate: Bearer` challenge, tokens compared in constant
 * time over their SHA-256 digests so neither content nor length leaks through timing (the edge's
 * guard, edge/src/middleware/bearer-auth.ts, does the same on workerd's crypto).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { UnauthorizedError } from "@budgetfusion/shared/errors";
import type { Context } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { errorResponse } from "./http-errors";

const REALM = "gpu-worker";
const digest = (text: string) => createHash("sha256").update(text).digest();

export function requireWorkerToken(expected: string) {
  const want = digest(expected);
  const refuse = (message: string) => (c: Context) =>
    errorResponse(c, new UnauthorizedError(message, { field: "authorization" }));
  return bearerAuth({
    realm: REALM,
    verifyToken: async (token) => timingSafeEqual(digest(token), want),
    noAuthenticationHeader: { message: refuse("missing bearer token") },
    invalidAuthenticationHeader: {
      wwwAuthenticateHeader: `Bearer realm="${REALM}"`,
      message: refuse("authorization must be 'Bearer <token>'"),
    },
    invalidToken: {
      wwwAuthenticateHeader: { realm: REALM, error: "invalid_token" },
      message: refuse("invalid bearer token"),
    },
  });
}
