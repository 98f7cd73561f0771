/**
 * Per-request context: the drizzle D1 handle and the settings parsed from the bindings, so
 * handlers never touch `env` directly. Both are built once per bindings object and kept for the
 * isolate's life: drizzle() walks the whole schema to build its relational config, the largest
 * item of /healthz's CPU profile in workerd (docs/notes/paper-size-edge.md), and neither can
 * change without a new isolate. A different bindings object (a test's `{ ...env, X }`) gets
 * its own.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { type EdgeConfig, edgeConfig } from "../config";
import { d1Database, type EdgeDb } from "../db/client";

const perBindings = new WeakMap<Env, { config: EdgeConfig; db: EdgeDb }>();

function contextOf(env: Env) {
  let ctx = perBindings.get(env);
  if (ctx === undefined) {
    ctx = { config: edgeConfig(env), db: d1Database(env.DB) };
    perBindings.set(env, ctx);
  }
  return ctx;
}

export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const { config, db } = contextOf(c.env);
  c.set("config", config);
  c.set("db", db);
  await next();
});
