/**
 * Per-request context: the drizzle D1 handle and the settings parsed from the bindings, so
 * handlers never touch `env` directly.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { edgeConfig } from "../config";
import { d1Database } from "../db/client";

export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  c.set("config", edgeConfig(c.env));
  c.set("db", d1Database(c.env.DB));
  await next();
});
