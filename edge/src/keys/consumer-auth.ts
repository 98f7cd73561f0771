/**
 * Consumer authentication for /v1: the API key comes as `Authorization: Bearer <key>` or as
 * `x-api-key: <key>` (hono's bearerAuth reads only the former, hence this middleware). A known,
 * unrevoked key sets `c.var.consumer`; an unknown or revoked one is a 401 in every mode. Without
 * a key the request is a 401 when API_KEYS is "required" (wrangler.toml's default) and the
 * anonymous consumer in local mode. Refusals carry a `WWW-Authenticate: Bearer` challenge.
 *
 * Key lookups are cached per isolate for KEY_TTL_MS (misses are not cached, so a new key works at
 * once); a revocation takes effect at once in the isolate that revoked it and within the TTL in
 * the others.
 */
import { UnauthorizedError } from "@budgetfusion/shared/errors";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { keyByDigest } from "../db/queries/api-keys";
import { errorResponse } from "../http-errors";
import { keyDigest } from "./api-key-secret";
import { ANONYMOUS, type Consumer, keyConsumer } from "./consumer";

const KEY_TTL_MS = 5_000;
const MAX_CACHED_KEYS = 1_000;
const REALM = "api";

const cache = new Map<string, { consumer: Consumer; at: number }>();

/** Drops a key from this isolate's cache (after a revocation). */
export function forgetKey(digest: string): void {
  cache.delete(digest);
}

/** The key a request presents: a Bearer credential, else x-api-key; undefined when none. */
function presentedKey(c: Context): string | undefined {
  const auth = c.req.header("authorization");
  const bearer = auth === undefined ? undefined : /^Bearer +(\S+) *$/i.exec(auth)?.[1];
  if (bearer !== undefined) return bearer;
  const header = c.req.header("x-api-key")?.trim();
  return header === undefined || header === "" ? undefined : header;
}

async function lookUp(c: Context<AppEnv>, digest: string): Promise<Consumer | undefined> {
  const now = Date.now();
  const hit = cache.get(digest);
  if (hit !== undefined && now - hit.at < KEY_TTL_MS) return hit.consumer;
  const row = await keyByDigest(c.var.db, digest);
  if (row === undefined || row.revokedAt !== null) {
    cache.delete(digest);
    return undefined;
  }
  const consumer = keyConsumer(row);
  if (cache.size >= MAX_CACHED_KEYS) cache.delete(cache.keys().next().value ?? "");
  cache.set(digest, { consumer, at: now });
  return consumer;
}

function refuse(c: Context, message: string, challenge: string): Response {
  const res = errorResponse(c, new UnauthorizedError(message, { field: "authorization" }));
  res.headers.set("www-authenticate", challenge);
  return res;
}

export const consumerAuth = createMiddleware<AppEnv>(async (c, next) => {
  const key = presentedKey(c);
  if (key === undefined) {
    if (c.var.config.apiKeys === "required") {
      return refuse(
        c,
        "an API key is required: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'",
        `Bearer realm="${REALM}"`,
      );
    }
    c.set("consumer", ANONYMOUS);
    return next();
  }
  const consumer = await lookUp(c, await keyDigest(key));
  if (consumer === undefined) {
    return refuse(c, "unknown or revoked API key", `Bearer realm="${REALM}",error="invalid_token"`);
  }
  c.set("consumer", consumer);
  return next();
});

/** The consumer the auth middleware set; only routes behind it may ask. */
export function consumerOf(c: Context<AppEnv>): Consumer {
  const consumer = c.var.consumer;
  if (consumer === undefined) throw new Error("consumerAuth did not run for this route");
  return consumer;
}
