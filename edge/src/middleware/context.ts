/**
 * Per-request context: a request id (echoed as x-request-id and in every error body), the
 * drizzle D1 handle and the parsed settings, so handlers never touch `env` directly.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { d1Database } from "../db/client";
import { edgeConfig } from "../env";

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const given = c.req.header("x-request-id");
  const requestId = given !== undefined && REQUEST_ID.test(given) ? given : crypto.randomUUID();
  c.set("requestId", requestId);
  c.header("x-request-id", requestId);
  c.set("config", edgeConfig(c.env));
  c.set("db", d1Database(c.env.DB));
  await next();
});
