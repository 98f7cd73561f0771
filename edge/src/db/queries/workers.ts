/**
 * GPU worker pool rows. A worker is in the rotation when its last heartbeat is younger than the
 * TTL and it is not serving a failure back-off; registering again clears the back-off.
 */
import type { WorkerRegistration } from "@budgetfusion/shared/schemas/edge-api";
import { and, asc, eq, gt, lt, lte, sql } from "drizzle-orm";
import type { EdgeDb } from "../client";
import { workers } from "../schema";

export type WorkerRow = typeof workers.$inferSelect;

/** The columns a registration or heartbeat reports. */
function reportedStatus(reg: WorkerRegistration, now: number) {
  return {
    url: reg.url,
    modelId: reg.model_id,
    capacity: reg.capacity,
    queueDepth: reg.queue_depth,
    inFlight: reg.in_flight,
    reportedJobs: reg.job_ids === undefined ? null : JSON.stringify(reg.job_ids),
    lastHeartbeatAt: now,
  };
}

export async function upsertWorker(db: EdgeDb, reg: WorkerRegistration, now: number) {
  const values = { ...reportedStatus(reg, now), unhealthyUntil: 0, consecutiveFailures: 0 };
  await db
    .insert(workers)
    .values({ id: reg.worker_id, registeredAt: now, ...values })
    .onConflictDoUpdate({ target: workers.id, set: values });
}

export function getWorker(db: EdgeDb, id: string) {
  return db.select().from(workers).where(eq(workers.id, id)).get();
}

/** Deregistration; false when the worker was not registered. */
export async function deleteWorker(db: EdgeDb, id: string): Promise<boolean> {
  const rows = await db.delete(workers).where(eq(workers.id, id)).returning({ id: workers.id });
  return rows.length > 0;
}

/** Expiry: drops records whose last heartbeat is older than `before`. */
export async function deleteSilentWorkers(db: EdgeDb, before: number) {
  await db.delete(workers).where(lt(workers.lastHeartbeatAt, before));
}

/** Heartbeat for a known worker; false when it never registered (it must register again). */
export async function heartbeatWorker(db: EdgeDb, reg: WorkerRegistration, now: number) {
  // A failure back-off outlives heartbeats (a live worker may still answer 5xx); only a fresh
  // registration (a restarted worker) clears it.
  const rows = await db
    .update(workers)
    .set(reportedStatus(reg, now))
    .where(eq(workers.id, reg.worker_id))
    .returning({ id: workers.id });
  return rows.length > 0;
}

/** The job ids the worker's last heartbeat reported; undefined when it does not report them. */
export function reportedJobIds(w: WorkerRow): Set<string> | undefined {
  return w.reportedJobs === null ? undefined : new Set(JSON.parse(w.reportedJobs) as string[]);
}

/** Heartbeating: the worker process is up (it may still be serving a back-off). */
export function isAlive(w: WorkerRow, now: number, ttlMs: number): boolean {
  return w.lastHeartbeatAt > now - ttlMs;
}

/** In the rotation: alive and not serving a fault back-off or a busy deferral. */
export function isHealthy(w: WorkerRow, now: number, ttlMs: number): boolean {
  return isAlive(w, now, ttlMs) && w.unhealthyUntil <= now;
}

export function listWorkers(db: EdgeDb) {
  return db.select().from(workers).orderBy(asc(workers.id)).all();
}

function healthyWorkers(db: EdgeDb, now: number, ttlMs: number) {
  return db
    .select()
    .from(workers)
    .where(and(gt(workers.lastHeartbeatAt, now - ttlMs), lte(workers.unhealthyUntil, now)))
    .orderBy(asc(workers.id))
    .all();
}

/** Workers whose heartbeat is fresh, whether or not they serve a back-off (admission control). */
export function aliveWorkers(db: EdgeDb, now: number, ttlMs: number) {
  return db
    .select()
    .from(workers)
    .where(gt(workers.lastHeartbeatAt, now - ttlMs))
    .orderBy(asc(workers.id))
    .all();
}

/** Any worker seen recently, for /v1/embed (30 s TTL: embedding is cheap and retried by callers). */
export async function pickEmbedWorker(db: EdgeDb, now: number) {
  const rows = await healthyWorkers(db, now, 30_000);
  return rows.sort((a, b) => a.inFlight + a.queueDepth - (b.inFlight + b.queueDepth))[0];
}

/** Takes a worker out of the rotation for `backoffMs` after a failed dispatch. */
export async function markWorkerFailed(db: EdgeDb, id: string, now: number, backoffMs: number) {
  await db
    .update(workers)
    .set({
      unhealthyUntil: now + backoffMs,
      consecutiveFailures: sql`${workers.consecutiveFailures} + 1`,
    })
    .where(eq(workers.id, id));
}

/** Skips a busy (not faulty) worker until `until`: its fault count is left alone. */
export async function deferWorker(db: EdgeDb, id: string, until: number) {
  await db
    .update(workers)
    .set({ unhealthyUntil: sql`max(${workers.unhealthyUntil}, ${until})` })
    .where(eq(workers.id, id));
}

export async function markWorkerOk(db: EdgeDb, id: string) {
  await db.update(workers).set({ consecutiveFailures: 0 }).where(eq(workers.id, id));
}
