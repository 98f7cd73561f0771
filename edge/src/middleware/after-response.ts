/**
 * Work that must not delay the response (usage counters, canary records): handed to the
 * runtime's waitUntil, so the isolate finishes it after answering. A failure is logged with the
 * request id; it never turns an answered request into an error.
 */
import type { Context } from "hono";
import type { AppEnv } from "../app-env";

export function afterResponse(c: Context<AppEnv>, what: string, work: Promise<unknown>): void {
  const guarded = work.catch((err: unknown) => {
    console.error(`[${c.var.requestId}] ${what} failed:`, err);
  });
  c.executionCtx.waitUntil(guarded);
}
