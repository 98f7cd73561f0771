/**
 * Job state transitions. Every transition out of "running" is conditional on the attempt that
 * owns the job, so a late answer from a worker that was presumed dead can never complete, fail
 * or re-queue a job a second time (idempotent completion, SPEC §7 "never loses an accepted job"),
 * nor revive one that was canceled meanwhile.
 */
import { and, asc, count, eq, inArray, lte, sql } from "drizzle-orm";
import type { EdgeDb } from "../client";
import { jobs } from "../schema";

export type JobRow = typeof jobs.$inferSelect;
export type NewJob = typeof jobs.$inferInsert;

export async function insertJob(db: EdgeDb, job: NewJob) {
  await db.insert(jobs).values(job);
}

export function getJob(db: EdgeDb, id: string) {
  return db.select().from(jobs).where(eq(jobs.id, id)).get();
}

/** queued -> running for the next attempt; returns that attempt number, or undefined if lost. */
export async function claimJob(
  db: EdgeDb,
  job: Pick<JobRow, "id" | "attempt">,
  workerId: string,
  now: number,
  leaseUntil: number,
): Promise<number | undefined> {
  const rows = await db
    .update(jobs)
    .set({ status: "running", attempt: job.attempt + 1, workerId, startedAt: now, leaseUntil })
    .where(and(eq(jobs.id, job.id), eq(jobs.status, "queued"), eq(jobs.attempt, job.attempt)))
    .returning({ attempt: jobs.attempt });
  return rows[0]?.attempt;
}

const owned = (id: string, attempt: number) =>
  and(eq(jobs.id, id), eq(jobs.status, "running"), eq(jobs.attempt, attempt));

/** running(attempt) -> succeeded; false when this attempt no longer owns the job. */
export async function completeJob(
  db: EdgeDb,
  id: string,
  attempt: number,
  result: { imageKey: string; timings: Record<string, unknown>; now: number },
): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({
      status: "succeeded",
      imageKey: result.imageKey,
      timings: JSON.stringify(result.timings),
      finishedAt: result.now,
      leaseUntil: null,
      errorCode: null,
      errorMessage: null,
    })
    .where(owned(id, attempt))
    .returning({ id: jobs.id });
  return rows.length > 0;
}

/** running(attempt) -> queued, to be retried not before `notBefore` (on another worker). */
export async function requeueJob(
  db: EdgeDb,
  id: string,
  attempt: number,
  notBefore: number,
  reason: { code: string; message: string },
): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({
      status: "queued",
      workerId: null,
      leaseUntil: null,
      notBefore,
      errorCode: reason.code,
      errorMessage: reason.message,
    })
    .where(owned(id, attempt))
    .returning({ id: jobs.id });
  return rows.length > 0;
}

/** running(attempt) -> failed, or queued(attempt) -> failed (a deadline passed while queued). */
export async function failJob(
  db: EdgeDb,
  id: string,
  attempt: number,
  reason: { code: string; message: string; now: number },
  from: "running" | "queued" = "running",
): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({
      status: "failed",
      leaseUntil: null,
      finishedAt: reason.now,
      errorCode: reason.code,
      errorMessage: reason.message,
    })
    .where(and(eq(jobs.id, id), eq(jobs.status, from), eq(jobs.attempt, attempt)))
    .returning({ id: jobs.id });
  return rows.length > 0;
}

/**
 * queued or running(attempt) -> canceled (DELETE /v1/jobs/:id); false when the job moved on
 * first (claimed, finished or re-queued), so the caller reads it again.
 */
export async function cancelJob(
  db: EdgeDb,
  job: Pick<JobRow, "id" | "attempt" | "status">,
  now: number,
): Promise<boolean> {
  if (job.status !== "queued" && job.status !== "running") return false;
  const rows = await db
    .update(jobs)
    .set({
      status: "canceled",
      leaseUntil: null,
      finishedAt: now,
      errorCode: "canceled",
      errorMessage: "canceled by DELETE /v1/jobs/:id",
    })
    .where(and(eq(jobs.id, job.id), eq(jobs.status, job.status), eq(jobs.attempt, job.attempt)))
    .returning({ id: jobs.id });
  return rows.length > 0;
}

/** One dispatcher shard's queued jobs that are due, oldest first. */
export function dueJobs(db: EdgeDb, shard: string, now: number, limit: number) {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.dispatchShard, shard), eq(jobs.status, "queued"), lte(jobs.notBefore, now)))
    .orderBy(asc(jobs.createdAt))
    .limit(limit)
    .all();
}

/** Queued jobs of one diffusion model (jobs without a model when `modelId` is undefined). */
export async function countQueued(db: EdgeDb, modelId: string | undefined): Promise<number> {
  const model = sql`json_extract(${jobs.request}, '$.model_id')`;
  const row = await db
    .select({ n: count() })
    .from(jobs)
    .where(
      and(
        eq(jobs.status, "queued"),
        modelId === undefined ? sql`${model} IS NULL` : sql`${model} = ${modelId}`,
      ),
    )
    .get();
  return row?.n ?? 0;
}

/**
 * When the shard's dispatcher must look again, in one query: the earliest of its queued jobs'
 * not_before and its running jobs' leases, none later than `tickAt` (the watchdog's next tick);
 * undefined when it has no queued or running job.
 */
export async function nextJobWakeAt(
  db: EdgeDb,
  shard: string,
  tickAt: number,
): Promise<number | undefined> {
  const row = await db
    .select({
      open: count(),
      at: sql<
        number | null
      >`min(CASE ${jobs.status} WHEN 'queued' THEN ${jobs.notBefore} ELSE coalesce(${jobs.leaseUntil}, ${tickAt}) END)`,
    })
    .from(jobs)
    .where(and(eq(jobs.dispatchShard, shard), inArray(jobs.status, ["queued", "running"])))
    .get();
  if (row === undefined || row.open === 0) return undefined;
  return Math.min(row.at ?? tickAt, tickAt);
}

/** One dispatcher shard's running jobs. */
export function runningJobs(db: EdgeDb, shard: string) {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.dispatchShard, shard), eq(jobs.status, "running")))
    .all();
}
