/**
 * The dispatcher Durable Object, one per shard (dispatch/shards.ts: a diffusion model and a hash
 * of the job id within it, DISPATCHER_SHARDS per model); each instance serialises the routing
 * decisions of its own jobs (SPEC §7). Job rows live in D1; this object owns what is in flight.
 * It picks a worker of the job's model with room left in this shard's share of the model's
 * slots (shards.ts shardShares), and classifies each answer (worker-call.ts):
 * - busy (429/503): the job is deferred, and the worker skipped for its Retry-After; no fault;
 * - worker fault (404, 5xx, connection lost, timeout, wrong model, no PNG): the worker leaves the
 *   rotation at once for a back-off that grows with its consecutive faults, and the job is
 *   retried elsewhere on a back-off schedule (shared/src/retry/backoff.ts);
 * - bad request (400/413/422): the job fails.
 * Retries are bounded by the deadline the job carries (deadline_s), not by a count, so a job
 * outlives a worker restart or a saturated pool. The alarm is a watchdog that ticks every
 * heartbeat interval while work remains: an attempt on a worker that stopped heartbeating, or
 * whose heartbeats stopped listing the job (job_ids, after a grace of one interval so a heartbeat
 * sent before the job arrived does not count), is aborted and retried; attempts of a previous
 * instance of this object (an edge restart) and attempts past their lease are re-queued.
 * Completion is conditional on the attempt (db/queries/jobs.ts), so a job is never completed
 * twice even if a presumed-dead worker answers late.
 * Cancellation (DELETE /v1/jobs/:id) goes through here too: a queued job ends `canceled` at once,
 * a running one ends `canceled` here and its worker is told to stop it at the next step
 * boundary. Every job's start and end are announced by webhook when it asked (job-webhooks.ts:
 * kept in D1, retried by the alarm).
 */

import { DurableObject } from "cloudflare:workers";
import { backoffDelayMs } from "@budgetfusion/shared/retry/backoff";
import { asComputeTimings } from "@budgetfusion/shared/usage/compute-time";
import { type EdgeConfig, edgeConfig } from "../config";
import { d1Database, type EdgeDb } from "../db/client";
import {
  cancelJob,
  claimJob,
  completeJob,
  dueJobs,
  failJob,
  getJob,
  type JobRow,
  nextJobWakeAt,
  requeueJob,
  runningJobs,
} from "../db/queries/jobs";
import {
  aliveWorkers,
  deferWorker,
  getWorker,
  isAlive,
  isHealthy,
  listWorkers,
  markWorkerFailed,
  markWorkerOk,
  reportedJobIds,
  type WorkerRow,
} from "../db/queries/workers";
import { isFinished } from "../jobs/job-view";
import { imageKey } from "../storage/r2-blob-store";
import { recordJobFinished } from "../usage/record-usage";
import { JobWebhooks } from "./job-webhooks";
import { parseShard, type Shard, shardShares, shardsForWorker } from "./shards";
import { callWorker, type StoredJobRequest, workerBody } from "./worker-call";
import { cancelOnWorker } from "./worker-jobs";

/** Job retries after worker faults: fast at first (another worker is likely fine), then 5 s. */
const JOB_RETRY = { baseMs: 250, maxMs: 5_000 };
/** A faulty worker's time out of the rotation, by its consecutive faults. */
const WORKER_PENALTY = { baseMs: 1_000, maxMs: 30_000 };
/** Longest a busy worker's Retry-After is honoured (a bogus header must not park the pool). */
const MAX_BUSY_DEFER_MS = 60_000;

/** Where the shard's name is kept, for the alarm (which is called without one). */
const SHARD_KEY = "shard";

/** The Durable Object of a shard. */
export function dispatcherOf(env: Env, shard: string) {
  return env.DISPATCHER.get(env.DISPATCHER.idFromName(shard));
}

/** Wakes every shard that may dispatch to a worker of `modelId` (new or returned capacity). */
export async function wakeShardsFor(env: Env, modelId: string, shards: number): Promise<void> {
  await Promise.all(shardsForWorker(modelId, shards).map((s) => dispatcherOf(env, s).wake(s)));
}

/** Re-reads when a job moves on during a cancel (claimed, re-queued) before giving up. */
const CANCEL_TRIES = 4;

interface CancelResult {
  /** The job afterwards; undefined when there is no such job. */
  job: JobRow | undefined;
  /** Whether this call canceled it (false: it had already ended). */
  canceled: boolean;
}

interface ActiveAttempt {
  workerId: string;
  startedAt: number;
  abort: AbortController;
  done: Promise<void>;
}

/** @public workerd instantiates it for the DISPATCHER binding (wrangler.toml, via src/index.ts). */
export class Dispatcher extends DurableObject<Env> {
  private readonly db: EdgeDb;
  private readonly config: EdgeConfig;
  /** Attempts started before this instance existed belong to a dead one (an edge restart). */
  private readonly bootedAt = Date.now();
  /** Attempts this instance is running, by job id. */
  private readonly active = new Map<string, ActiveAttempt>();
  /** Our own outstanding calls per worker (the worker's reported numbers lag a heartbeat). */
  private readonly load = new Map<string, number>();
  private readonly waiters = new Map<string, (() => void)[]>();
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  /** Jobs canceled while an attempt of ours runs: that attempt's answer is discarded. */
  private readonly canceled = new Set<string>();
  private readonly webhooks: JobWebhooks;
  /** This instance's shard: given by every wake, kept in storage for the alarm. */
  private shard: Shard | undefined;
  /** D1 queries this instance has made (stats()). */
  private d1Queries = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.db = d1Database(env.DB, () => {
      this.d1Queries++;
    });
    this.config = edgeConfig(env);
    this.webhooks = new JobWebhooks(
      this.db,
      this.config.webhookSecret,
      (attempt) => this.ctx.waitUntil(attempt),
      (at) => this.alarmBy(at),
    );
  }

  /**
   * A new job row of `shard` is in D1 (or a worker came back): dispatch whatever of the shard is
   * due if a worker has room. It reads the queue from D1, so it needs no job id.
   */
  async wake(shard: string): Promise<void> {
    if (this.shard?.name !== shard) {
      this.shard = parseShard(shard);
      await this.ctx.storage.put(SHARD_KEY, shard);
    }
    await this.pump();
  }

  /** For diagnostics and the query-count test: D1 queries made by this instance so far. */
  stats(): { d1Queries: number } {
    return { d1Queries: this.d1Queries };
  }

  /** Resolves when the job has ended (succeeded/failed/canceled) or after `timeoutMs`. */
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
    if (job === undefined || isFinished(job)) this.notify(jobId);
    await done;
  }

  /**
   * Cancels the job unless it has ended: queued -> canceled at once; running -> canceled here,
   * then its worker is told (DELETE /v1/jobs/:id there), and should it not take that, our call
   * to it is dropped, which the worker also takes as a cancel. The worker's answer, if any
   * still comes, is discarded.
   */
  async cancel(jobId: string): Promise<CancelResult> {
    for (let tries = 0; tries < CANCEL_TRIES; tries++) {
      const job = await getJob(this.db, jobId);
      if (job === undefined || isFinished(job)) return { job, canceled: false };
      const now = Date.now();
      // False: it moved on (claimed, re-queued, finished) since the read; look again.
      if (!(await cancelJob(this.db, job, now))) continue;
      const mine = this.active.get(jobId);
      if (mine !== undefined) this.canceled.add(jobId);
      if (job.status === "running" && job.workerId !== null) {
        const worker = await getWorker(this.db, job.workerId);
        const told =
          worker !== undefined &&
          (await cancelOnWorker({ url: worker.url, token: this.env.WORKER_TOKEN }, jobId));
        if (!told) mine?.abort.abort(new Error(`job ${jobId} canceled`));
      }
      await recordJobFinished(this.db, jobId, { status: "canceled" }, now);
      return { job: await this.ended(jobId), canceled: true };
    }
    // Still moving after a few reads: the caller answers 409 for a job not yet ended.
    return { job: await getJob(this.db, jobId), canceled: false };
  }

  /**
   * Watchdog: recover lost attempts, release deferred jobs, retry due webhooks, keep ticking
   * while work remains.
   */
  override async alarm(): Promise<void> {
    if (this.shard === undefined) {
      const name = await this.ctx.storage.get<string>(SHARD_KEY);
      // Alarms are set only after a wake, which stores the name; nothing to watch otherwise.
      if (name === undefined) return;
      this.shard = parseShard(name);
    }
    const now = Date.now();
    await this.recoverLost(now);
    await this.webhooks.startDue(this.shard.name, now);
    await this.pump();
  }

  /** The shard this instance serves; every path here starts from a wake or the alarm. */
  private owned(): Shard {
    if (this.shard === undefined) throw new Error("dispatcher used before its shard was named");
    return this.shard;
  }

  /**
   * Attempts that cannot answer any more: ours on a worker that stopped heartbeating or stopped
   * reporting the job are aborted (runAttempt then retries them); those of a previous instance
   * of this object, and any past its lease, are re-queued at once.
   */
  private async recoverLost(now: number): Promise<void> {
    const running = await runningJobs(this.db, this.owned().name);
    if (running.length === 0) return;
    const workers = new Map((await listWorkers(this.db)).map((w) => [w.id, w]));
    for (const job of running) {
      const mine = this.active.get(job.id);
      if (mine !== undefined) {
        const lost = this.lostReason(workers.get(mine.workerId), mine, job.id, now);
        if (lost !== undefined) mine.abort.abort(new Error(lost));
        continue;
      }
      const orphaned = job.startedAt !== null && job.startedAt < this.bootedAt;
      const expired = job.leaseUntil !== null && job.leaseUntil <= now;
      if (!orphaned && !expired) continue;
      await this.retryOrFail(
        job,
        job.attempt,
        now,
        orphaned ? "dispatcher_restarted" : "lease_expired",
        orphaned ? "the edge restarted during the attempt" : "attempt lease expired",
      );
    }
  }

  /** Why our attempt can no longer answer, or undefined while it still may. */
  private lostReason(
    worker: WorkerRow | undefined,
    attempt: ActiveAttempt,
    jobId: string,
    now: number,
  ): string | undefined {
    if (worker === undefined || !isAlive(worker, now, this.config.heartbeatTtlMs)) {
      return `worker ${attempt.workerId} stopped heartbeating`;
    }
    const held = reportedJobIds(worker);
    const graceEnd = attempt.startedAt + this.config.heartbeatIntervalS * 1000;
    if (held !== undefined && worker.lastHeartbeatAt >= graceEnd && !held.has(jobId)) {
      return `worker ${attempt.workerId} stopped reporting job ${jobId} in its heartbeats`;
    }
    return undefined;
  }

  private notify(jobId: string) {
    for (const resolve of this.waiters.get(jobId) ?? []) resolve();
    this.waiters.delete(jobId);
  }

  /** After a job's final transition: wakes its waiters and announces it; returns its row. */
  private async ended(jobId: string): Promise<JobRow | undefined> {
    this.notify(jobId);
    const job = await getJob(this.db, jobId);
    if (job !== undefined) await this.webhooks.enqueue(job, "job.completed");
    return job;
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

  /**
   * The workers this shard may use now, each with its share: the healthy workers of the shard's
   * model (all of them for the model-less shards), shared out by shardShares. Dealt afresh each
   * pass, so when a worker leaves the rotation its slots go to the others at once and a shard
   * left without any borrows one: a job is retried elsewhere whatever its shard. `backAt`: when
   * the first live worker now out of the rotation (a fault back-off, a busy deferral) rejoins.
   */
  private async openSlots(
    now: number,
  ): Promise<{ open: Map<WorkerRow, number>; backAt: number | undefined }> {
    const { modelId, index } = this.owned();
    const ttl = this.config.heartbeatTtlMs;
    const alive = (await aliveWorkers(this.db, now, ttl)).filter(
      (w) => modelId === undefined || w.modelId === modelId,
    );
    const pool = alive.filter((w) => isHealthy(w, now, ttl));
    const shares = shardShares(pool, index, this.config.dispatcherShards);
    const out = alive.filter((w) => !isHealthy(w, now, ttl)).map((w) => w.unhealthyUntil);
    return {
      open: new Map(pool.map((w) => [w, shares.get(w.id) ?? 0])),
      backAt: out.length === 0 ? undefined : Math.min(...out),
    };
  }

  /** The worker with the most room left in this shard's share, if any has room. */
  private pickWorker(open: Map<WorkerRow, number>): WorkerRow | undefined {
    const spare = (w: WorkerRow) => (open.get(w) ?? 0) - (this.load.get(w.id) ?? 0);
    return [...open.keys()]
      .filter((w) => spare(w) > 0)
      .sort((a, b) => spare(b) - spare(a) || a.id.localeCompare(b.id))[0];
  }

  private async dispatchDue(): Promise<void> {
    const now = Date.now();
    const due = (await dueJobs(this.db, this.owned().name, now, 64)).filter(
      (j) => !this.active.has(j.id),
    );
    // When a due job finds no room, looking again before a worker rejoins (or a heartbeat
    // interval) would only spin: attempts that end and workers that register wake us anyway.
    let stalledUntil: number | undefined;
    if (due.length > 0) {
      const { open, backAt } = await this.openSlots(now);
      for (const job of due) {
        const request = JSON.parse(job.request) as StoredJobRequest;
        if (now >= deadlineOf(job, request, this.config)) {
          await this.expire(job.id, job.attempt, "queued", now, job.errorMessage ?? undefined);
          continue;
        }
        const worker = this.pickWorker(open);
        // No room in this shard's share now: the job waits for a slot to free.
        if (worker === undefined) {
          stalledUntil = backAt ?? Number.POSITIVE_INFINITY;
          continue;
        }
        const attempt = await claimJob(
          this.db,
          job,
          worker.id,
          now,
          now + this.config.attemptTimeoutMs,
        );
        if (attempt === undefined) continue;
        // Announced once, on the first dispatch; a retry elsewhere is the same job going on.
        if (attempt === 1)
          await this.webhooks.enqueue({ ...job, status: "running", attempt }, "job.started");
        this.load.set(worker.id, (this.load.get(worker.id) ?? 0) + 1);
        const abort = new AbortController();
        const done = this.runAttempt(job, attempt, worker, request, abort.signal).finally(() => {
          this.active.delete(job.id);
          this.canceled.delete(job.id);
          this.load.set(worker.id, Math.max(0, (this.load.get(worker.id) ?? 1) - 1));
          this.pumpAgain = true;
          void this.pump();
        });
        this.active.set(job.id, { workerId: worker.id, startedAt: Date.now(), abort, done });
        this.ctx.waitUntil(done);
      }
    }
    await this.scheduleAlarm(stalledUntil);
  }

  /**
   * Next alarm: while attempts run, every heartbeat interval (to notice a silent worker);
   * while jobs are queued, when the earliest is due, at least every heartbeat interval (a
   * worker may have come back), but not before `stalledUntil` when due jobs found no room;
   * when the earliest webhook retry is due.
   */
  private async scheduleAlarm(stalledUntil?: number): Promise<void> {
    const shard = this.owned().name;
    const tick = Date.now() + this.config.heartbeatIntervalS * 1000;
    const jobsAt = await nextJobWakeAt(this.db, shard, tick);
    const times = [
      jobsAt === undefined ? undefined : Math.max(jobsAt, Math.min(stalledUntil ?? 0, tick)),
      await this.webhooks.nextDue(shard),
    ];
    const due = times.filter((t) => t !== undefined);
    if (due.length === 0) return;
    await this.alarmBy(Math.min(...due));
  }

  /** Makes the alarm fire by `at` (not sooner than 50 ms from now), unless it already will. */
  private async alarmBy(at: number): Promise<void> {
    const now = Date.now();
    const next = Math.max(at, now + 50);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > next || current < now) await this.ctx.storage.setAlarm(next);
  }

  private async runAttempt(
    job: JobRow,
    attempt: number,
    worker: WorkerRow,
    request: StoredJobRequest,
    signal: AbortSignal,
  ): Promise<void> {
    const started = Date.now();
    const outcome = await callWorker(worker.url, workerBody(request, job.id), {
      timeoutMs: this.config.attemptTimeoutMs,
      token: this.env.WORKER_TOKEN,
      modelId: request.model_id,
      signal,
    });
    const now = Date.now();
    // Canceled meanwhile (cancel() has ended the job): whatever the worker answered is moot.
    if (this.canceled.delete(job.id)) return;
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
      if (!won) {
        await this.env.BLOBS.delete(key);
        this.notify(job.id);
        return;
      }
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
      await this.ended(job.id);
      return;
    }
    if (outcome.kind === "fatal") {
      const failed = await failJob(this.db, job.id, attempt, {
        code: "upstream_rejected",
        message: outcome.message,
        now,
      });
      if (!failed) {
        this.notify(job.id);
        return;
      }
      await recordJobFinished(this.db, job.id, { status: "failed" }, now);
      await this.ended(job.id);
      return;
    }
    if (outcome.kind === "canceled") {
      // Canceled on the worker by someone else than us: not its fault; the job goes on elsewhere.
      await this.retryOrFail(job, attempt, now, "worker_canceled", outcome.message);
      return;
    }
    if (outcome.kind === "busy") {
      // Full, not faulty: skip it for its Retry-After; the job is due again at once elsewhere.
      await deferWorker(
        this.db,
        worker.id,
        now + Math.min(outcome.retryAfterMs, MAX_BUSY_DEFER_MS),
      );
      await this.retryOrFail(job, attempt, now, "worker_busy", outcome.message, 0);
      return;
    }
    const faults = worker.consecutiveFailures + 1;
    await markWorkerFailed(this.db, worker.id, now, backoffDelayMs(WORKER_PENALTY, faults));
    await this.retryOrFail(job, attempt, now, "worker_failed", outcome.message);
  }

  /**
   * Re-queues the running attempt's job after `delayMs` (default: the back-off for its attempt)
   * or, past the job's deadline, fails it.
   */
  private async retryOrFail(
    job: JobRow,
    attempt: number,
    now: number,
    code: string,
    message: string,
    delayMs = backoffDelayMs(JOB_RETRY, attempt),
  ) {
    const deadline = deadlineOf(job, JSON.parse(job.request) as StoredJobRequest, this.config);
    if (now >= deadline) {
      await this.expire(job.id, attempt, "running", now, message);
      return;
    }
    await requeueJob(this.db, job.id, attempt, Math.min(now + delayMs, deadline), {
      code,
      message,
    });
  }

  /** Fails a job whose deadline passed, from the state (and attempt) it is in now. */
  private async expire(
    jobId: string,
    attempt: number,
    from: "queued" | "running",
    now: number,
    last?: string,
  ) {
    const message = `no GPU worker completed the job within its deadline${last ? `; last: ${last}` : ""}`;
    const failed = await failJob(
      this.db,
      jobId,
      attempt,
      { code: "deadline_exceeded", message, now },
      from,
    );
    if (failed) {
      await recordJobFinished(this.db, jobId, { status: "failed" }, now);
      await this.ended(jobId);
    }
  }
}

/** When the job gives up: its creation plus the deadline it carries (or the default). */
export function deadlineOf(job: JobRow, request: StoredJobRequest, config: EdgeConfig): number {
  return job.createdAt + (request.deadline_s ?? config.jobDeadlineS) * 1000;
}
