/**
 * Bounded work queue for generations (SPEC §7: bounded queue, 429 + Retry-After when full).
 * Hand-written rather than p-queue because the worker needs, in one place: an immediate
 * QueueFullError once `queueLimit` jobs wait, a per-job deadline that covers waiting *and*
 * running and aborts the running task through its AbortSignal, removal of a waiting job when its
 * client disconnects, and a drain for graceful shutdown. A slot stays taken until the task really
 * returns, so the GPU is never oversubscribed by abandoned work.
 */

import { CancelledError } from "@budgetfusion/inference/pipeline/cancel";
import { BudgetFusionError, QueueFullError, TimeoutError } from "@budgetfusion/shared/errors";

export interface JobQueueOptions {
  /** Jobs running at once (>= 1). */
  concurrency: number;
  /** Jobs allowed to wait (>= 0); one more is a QueueFullError. */
  queueLimit: number;
  /** Prior for the Retry-After estimate before any job finished, seconds. Default 2. */
  initialJobSeconds?: number;
}

export interface RunOptions {
  /** The client's signal: aborting it cancels the job (waiting: dropped; running: aborted). */
  signal?: AbortSignal;
  /** Deadline from enqueue, ms; TimeoutError when exceeded. */
  timeoutMs?: number;
}

export interface QueueResult<T> {
  value: T;
  /** Time spent waiting for a slot, ms. */
  queueMs: number;
}

/** The worker is shutting down and takes no new work (HTTP 503). */
export class ShuttingDownError extends BudgetFusionError {
  constructor() {
    super("shutting_down", "worker is shutting down");
    this.name = "ShuttingDownError";
  }
}

interface Job {
  start: () => void;
}

export class JobQueue {
  private readonly waiting: Job[] = [];
  private running = 0;
  private closed = false;
  private avgJobSeconds: number;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: JobQueueOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError("concurrency must be an integer >= 1");
    }
    if (!Number.isInteger(options.queueLimit) || options.queueLimit < 0) {
      throw new RangeError("queueLimit must be an integer >= 0");
    }
    this.avgJobSeconds = options.initialJobSeconds ?? 2;
  }

  get depth(): number {
    return this.waiting.length;
  }

  get inFlight(): number {
    return this.running;
  }

  get capacity(): number {
    return this.options.concurrency;
  }

  /** Seconds until a slot is likely free: queued work over concurrency times the mean job time. */
  retryAfterSeconds(): number {
    const ahead = this.waiting.length + this.running;
    return Math.max(1, Math.ceil((ahead / this.options.concurrency) * this.avgJobSeconds));
  }

  /** Runs `task` when a slot is free. Rejects with QueueFullError, TimeoutError, CancelledError. */
  run<T>(
    task: (signal: AbortSignal) => Promise<T>,
    opts: RunOptions = {},
  ): Promise<QueueResult<T>> {
    if (this.closed) return Promise.reject(new ShuttingDownError());
    if (opts.signal?.aborted) return Promise.reject(new CancelledError("client went away"));
    const canStart = this.running < this.options.concurrency && this.waiting.length === 0;
    if (!canStart && this.waiting.length >= this.options.queueLimit) {
      const retry = this.retryAfterSeconds();
      return Promise.reject(
        new QueueFullError(
          `queue full (${this.waiting.length} waiting, ${this.running} running)`,
          retry,
        ),
      );
    }
    return new Promise<QueueResult<T>>((resolve, reject) => {
      const enqueued = performance.now();
      const controller = new AbortController();
      let settled = false;
      let job: Job | undefined;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        fn();
      };
      const stop = (err: BudgetFusionError) => {
        const idx = job === undefined ? -1 : this.waiting.indexOf(job);
        if (idx >= 0) this.waiting.splice(idx, 1);
        controller.abort(err);
        settle(() => reject(err));
        this.notifyIdle();
      };
      // The signal's own reason when it names one (DELETE /v1/jobs/:id), else the client left.
      const onAbort = () => {
        const reason = opts.signal?.reason;
        stop(reason instanceof BudgetFusionError ? reason : new CancelledError("client went away"));
      };
      const timer =
        opts.timeoutMs === undefined
          ? undefined
          : setTimeout(
              () => stop(new TimeoutError(`request exceeded ${opts.timeoutMs} ms`)),
              opts.timeoutMs,
            );
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      job = {
        start: () => {
          this.running++;
          const started = performance.now();
          const queueMs = started - enqueued;
          task(controller.signal)
            .then(
              (value) => settle(() => resolve({ value, queueMs })),
              (err: unknown) => settle(() => reject(err)),
            )
            .finally(() => {
              this.running--;
              const seconds = (performance.now() - started) / 1000;
              this.avgJobSeconds = 0.8 * this.avgJobSeconds + 0.2 * seconds;
              this.pump();
            });
        },
      };
      if (canStart) job.start();
      else this.waiting.push(job);
    });
  }

  /** Stops accepting work; resolves when nothing waits or runs (graceful shutdown). */
  drain(): Promise<void> {
    this.closed = true;
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running < this.options.concurrency && this.waiting.length > 0) {
      const next = this.waiting.shift() as Job;
      next.start();
    }
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.running === 0 && this.waiting.length === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }
}
