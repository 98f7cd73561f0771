/**
 * The dispatcher Durable Object: one instance ("global") serialises all routing decisions
 * (SPEC §7). Job rows live in D1; this object owns what is in flight. It picks a healthy worker
 * with spare capacity, retries on 429 / 5xx / timeout / connection loss on another worker with
 * exponential back-off, and uses its alarm as a watchdog: attempts whose lease expired (worker
 * or dispatcher died mid-job) are re-queued, delayed jobs are released, and the alarm keeps
 * ticking while work remains. Completion is conditional on the attempt (db/queries/jobs.ts), so
 * a job is never completed twice even if a presumed-dead worker answers late.
 */

import { DurableObject } from "cloudflare:workers";
import { asComputeTimings } from "@budgetfusion/shared/usage/compute-time";
import { type EdgeConfig, edgeConfig } from "../config";
import { d1Database, type EdgeDb } from "../db/client";
import {
  claimJob,
  completeJob,
  dueJobs,
  failJob,
  getJob,
  type JobRow,
  queuedJobs,
  requeueJob,
  runningJobs,
  staleJobs,
} from "../db/queries/jobs";
import {
  healthyWorkers,
  markWorkerFailed,
  markWorkerOk,
  type WorkerRow,
} from "../db/queries/workers";
import { imageKey } from "../storage/r2-blob-store";
import { recordJobFinished } from "../usage/record-usage";
import { callWorker, type WorkerGenerateBody } from "./worker-call";

const BASE_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;
/** Idle watchdog period while jobs are queued but no worker can take them. */
const WATCHDOG_MS = 1_000;

export const DISPATCHER_NAME = "global";

/** @public workerd instantiates it for the DISPATCHER binding (wrangler.toml, via src/index.ts). */
export class Dispatcher extends DurableObject<Env> {
  private readonly db: EdgeDb;
  private readonly config: EdgeConfig;
  /** Attempts this instance is running, by job id. */
  private readonly active = new Map<string, Promise<void>>();
  /** Our own outstanding calls per worker (the worker's reported numbers lag a heartbeat). */
  private readonly load = new Map<string, number>();
  private readonly waiters = new Map<string, (() => void)[]>();
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.db = d1Database(env.DB);
    this.config = edgeConfig(env);
  }

  /**
   * A new job row is in D1 (or a worker came back): dispatch whatever is due if a worker is free.
   * It reads the queue from D1, so it needs no job id.
   */
  async wake(): Promise<void> {
    await this.pump();
  }

  /** Resolves when the job has finished (succeeded/failed) or after `timeoutMs`. */
  async waitFor(jobId: string, timeoutMs: number): Promise<void> {
    // Register first, then look: a completion between the two cannot be missed.
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      const list = this.waiters.get(jobId) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.waiters.set(jobId, list);
    });
    const job = await getJob(this.db, jobId);
    if (job === undefined || job.status === "succeeded" || job.status === "failed") {
      this.notify(jobId);
    }
    await done;
  }

  /** Watchdog: re-queue lost attempts, release delayed jobs, keep ticking while work remains. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    for (const job of await staleJobs(this.db, now)) {
      if (this.active.has(job.id)) continue;
      await this.retryOrFail(job, job.attempt, now, "lease_expired", "attempt lease expired");
    }
    await this.pump();
  }

  private notify(jobId: string) {
    for (const resolve of this.waiters.get(jobId) ?? []) resolve();
    this.waiters.delete(jobId);
  }

  /** Serialised: one pass at a time; a request during a pass triggers one more pass. */
  private pump(): Promise<void> {
    if (this.pumping !== undefined) {
      this.pumpAgain = true;
      return this.pumping;
    }
    this.pumping = (async () => {
      do {
        this.pumpAgain = false;
        await this.dispatchDue();
      } while (this.pumpAgain);
    })().finally(() => {
      this.pumping = undefined;
    });
    return this.pumping;
  }

  private spare(w: WorkerRow): number {
    return w.capacity - (this.load.get(w.id) ?? 0);
  }

  private pickWorker(pool: WorkerRow[], modelId: string | undefined): WorkerRow | undefined {
    const free = pool.filter((w) => this.spare(w) > 0);
    const matching = free.filter((w) => modelId === undefined || w.modelId === modelId);
    const candidates = matching.length > 0 ? matching : free;
    return candidates.sort((a, b) => this.spare(b) - this.spare(a) || a.id.localeCompare(b.id))[0];
  }

  private async dispatchDue(): Promise<void> {
    const now = Date.now();
    const due = (await dueJobs(this.db, now, 64)).filter((j) => !this.active.has(j.id));
    if (due.length > 0) {
      const pool = await healthyWorkers(this.db, now, this.config.heartbeatTtlMs);
      for (const job of due) {
        const request = JSON.parse(job.request) as WorkerGenerateBody & { model_id?: string };
        const worker = this.pickWorker(pool, request.model_id);
        if (worker === undefined) break;
        const attempt = await claimJob(
          this.db,
          job,
          worker.id,
          now,
          now + this.config.attemptTimeoutMs,
        );
        if (attempt === undefined) continue;
        this.load.set(worker.id, (this.load.get(worker.id) ?? 0) + 1);
        const run = this.runAttempt(job, attempt, worker, request).finally(() => {
          this.active.delete(job.id);
          this.load.set(worker.id, Math.max(0, (this.load.get(worker.id) ?? 1) - 1));
          this.pumpAgain = true;
          void this.pump();
        });
        this.active.set(job.id, run);
        this.ctx.waitUntil(run);
      }
    }
    await this.scheduleAlarm();
  }

  /** Next alarm: the earliest lease expiry or delayed job, or a watchdog tick while queued. */
  private async scheduleAlarm(): Promise<void> {
    const now = Date.now();
    const times: number[] = [];
    for (const j of await runningJobs(this.db)) if (j.leaseUntil !== null) times.push(j.leaseUntil);
    for (const j of await queuedJobs(this.db)) times.push(Math.max(j.notBefore, now + WATCHDOG_MS));
    if (times.length === 0) return;
    const next = Math.max(Math.min(...times), now + 50);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > next || current < now) await this.ctx.storage.setAlarm(next);
  }

  private async runAttempt(
    job: JobRow,
    attempt: number,
    worker: WorkerRow,
    request: WorkerGenerateBody & { model_id?: string },
  ): Promise<void> {
    const { model_id: _model, ...body } = request;
    const started = Date.now();
    const outcome = await callWorker(worker.url, body, this.config.attemptTimeoutMs);
    const now = Date.now();
    if (outcome.kind === "ok") {
      await markWorkerOk(this.db, worker.id);
      const key = imageKey(`${job.id}-${attempt}`);
      await this.env.BLOBS.put(key, outcome.png, { httpMetadata: { contentType: "image/png" } });
      const timings = {
        queued_ms: started - job.createdAt,
        dispatch_ms: now - started,
        attempt,
        ...outcome.headers,
      };
      const won = await completeJob(this.db, job.id, attempt, { imageKey: key, timings, now });
      if (!won) await this.env.BLOBS.delete(key);
      else {
        await recordJobFinished(
          this.db,
          job.id,
          {
            status: "succeeded",
            steps: job.steps,
            stepsSource: job.stepsSource,
            timings: asComputeTimings(outcome.headers.worker),
          },
          now,
        );
      }
      this.notify(job.id);
      return;
    }
    if (outcome.kind === "fatal") {
      const failed = await failJob(this.db, job.id, attempt, {
        code: "upstream_rejected",
        message: outcome.message,
        now,
      });
      if (failed) await recordJobFinished(this.db, job.id, { status: "failed" }, now);
      this.notify(job.id);
      return;
    }
    const backoff =
      outcome.kind === "busy"
        ? outcome.retryAfterS * 1000
        : Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (worker.consecutiveFailures + 1));
    await markWorkerFailed(this.db, worker.id, now, backoff);
    await this.retryOrFail(
      job,
      attempt,
      now,
      outcome.kind === "busy" ? "worker_busy" : "worker_failed",
      outcome.message,
    );
  }

  private async retryOrFail(
    job: JobRow,
    attempt: number,
    now: number,
    code: string,
    message: string,
  ) {
    if (attempt >= this.config.maxAttempts) {
      const failed = await failJob(this.db, job.id, attempt, {
        code: "retries_exhausted",
        message: `gave up after ${attempt} attempts; last: ${message}`,
        now,
      });
      if (failed) await recordJobFinished(this.db, job.id, { status: "failed" }, now);
      this.notify(job.id);
      return;
    }
    // Retry on another worker at once (the failed one is out of rotation); the short delay
    // grows with the attempt so a pool-wide failure does not spin.
    const delay = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (attempt - 1)) - BASE_BACKOFF_MS;
    await requeueJob(this.db, job.id, attempt, now + delay, { code, message });
  }
}
