/**
 * The running canary as this isolate sees it: read from D1 at most every CANARY_TTL_MS (like
 * the active version, predictor/active-predictor.ts), forgotten at once when this isolate starts,
 * promotes or aborts one.
 */
import type { EdgeDb } from "../db/client";
import { type CanaryRow, endCanary, runningCanary } from "../db/queries/canaries";

const CANARY_TTL_MS = 2_000;

let cached: { canary: CanaryRow | undefined; at: number } | undefined;

export function forgetCanary(): void {
  cached = undefined;
}

export async function currentCanary(db: EdgeDb, now = Date.now()): Promise<CanaryRow | undefined> {
  if (cached !== undefined && now - cached.at < CANARY_TTL_MS) return cached.canary;
  const canary = await runningCanary(db);
  cached = { canary, at: now };
  return canary;
}

/** Ends the running canary, if any, as aborted (POST /admin/bundles/rollback). */
export async function abortRunningCanary(db: EdgeDb, now: number): Promise<void> {
  const running = await runningCanary(db);
  if (running !== undefined) await endCanary(db, running.id, "aborted", now);
  forgetCanary();
}
