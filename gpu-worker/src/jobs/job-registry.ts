/**
 * The generations this worker holds, by job id: their progress for GET /v1/jobs/:id and its event
 * stream, and their cancel switch for DELETE /v1/jobs/:id. An entry is active from arrival until
 * its answer is ready; then it is kept, final, among the last `keepFinished` jobs so a late
 * progress read or stream still learns how it ended. A second request under an id still active
 * (the edge re-dispatching an attempt it presumed lost) takes the id over; the older one keeps
 * running and only loses its entry. The active ids go out with every heartbeat (job_ids), so the
 * edge can tell an attempt this worker silently dropped.
 */
import { CancelledError } from "@budgetfusion/inference/pipeline/cancel";
import { BudgetFusionError } from "@budgetfusion/shared/errors";
import { type JobProgress, MAX_REPORTED_JOB_IDS } from "@budgetfusion/shared/schemas/worker-api";

export interface StepUpdate {
  step: number;
  steps: number;
  etaMs: number;
  batchSize: number;
}

type FinalState = "succeeded" | "failed" | "canceled";

const FINAL: ReadonlySet<JobProgress["state"]> = new Set(["succeeded", "failed", "canceled"]);

export const isFinal = (p: JobProgress) => FINAL.has(p.state);

export class TrackedJob {
  private readonly controller = new AbortController();
  private readonly arrived = performance.now();
  private readonly listeners = new Set<(p: JobProgress) => void>();
  private update: StepUpdate | undefined;
  private final: { state: FinalState; elapsedMs: number; error?: JobProgress["error"] } | undefined;

  constructor(
    readonly id: string,
    private readonly steps: number,
  ) {}

  /** Fires on DELETE /v1/jobs/:id. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Whether the job has joined the running batch. */
  get started(): boolean {
    return this.update !== undefined;
  }

  onStep(update: StepUpdate): void {
    if (this.final !== undefined) return;
    this.update = update;
    this.emit();
  }

  cancel(): void {
    this.controller.abort(new CancelledError(`job ${this.id} canceled`));
  }

  /** The job's end: succeeded, or the error that ended it (a cancellation ends it `canceled`). */
  settle(error?: unknown): void {
    if (this.final !== undefined) return;
    const elapsedMs = performance.now() - this.arrived;
    if (error === undefined) {
      this.final = { state: "succeeded", elapsedMs };
    } else {
      const known = error instanceof BudgetFusionError;
      this.final = {
        state: known && error.code === "cancelled" ? "canceled" : "failed",
        elapsedMs,
        error: known
          ? { code: error.code, message: error.message }
          : { code: "internal_error", message: "internal error" },
      };
    }
    this.emit();
    this.listeners.clear();
  }

  /** Calls `listener` on every change until the job is final; returns the unsubscribe. */
  subscribe(listener: (p: JobProgress) => void): () => void {
    if (this.final === undefined) this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  progress(): JobProgress {
    const u = this.update;
    const base = { job_id: this.id, steps: this.steps };
    if (this.final !== undefined) {
      return {
        ...base,
        state: this.final.state,
        step: u?.step ?? 0,
        elapsed_ms: this.final.elapsedMs,
        eta_ms: 0,
        batch_size: 0,
        ...(this.final.error === undefined ? {} : { error: this.final.error }),
      };
    }
    const elapsed = performance.now() - this.arrived;
    if (u === undefined) {
      return {
        ...base,
        state: "queued",
        step: 0,
        elapsed_ms: elapsed,
        eta_ms: null,
        batch_size: 0,
      };
    }
    return {
      ...base,
      state: u.step >= u.steps ? "decoding" : "running",
      step: u.step,
      elapsed_ms: elapsed,
      eta_ms: Math.max(0, u.etaMs),
      batch_size: u.batchSize,
    };
  }

  private emit(): void {
    const p = this.progress();
    for (const listener of this.listeners) listener(p);
  }
}

export class JobRegistry {
  private readonly active = new Map<string, TrackedJob>();
  /** Insertion-ordered, so the oldest is first out. */
  private readonly finished = new Map<string, TrackedJob>();

  constructor(private readonly keepFinished = 1000) {}

  track(id: string, steps: number): TrackedJob {
    const job = new TrackedJob(id, steps);
    this.finished.delete(id);
    this.active.set(id, job);
    return job;
  }

  /**
   * The ids of the jobs still queued or running here, for the heartbeat; undefined when there
   * are more than a heartbeat carries (the edge then does not check them).
   */
  reportedIds(): string[] | undefined {
    return this.active.size > MAX_REPORTED_JOB_IDS ? undefined : [...this.active.keys()];
  }

  get(id: string): TrackedJob | undefined {
    return this.active.get(id) ?? this.finished.get(id);
  }

  /** Settles `job` and keeps it as finished (unless a newer request took its id over). */
  release(job: TrackedJob, error?: unknown): void {
    job.settle(error);
    if (this.active.get(job.id) !== job) return;
    this.active.delete(job.id);
    this.finished.set(job.id, job);
    if (this.finished.size > this.keepFinished) {
      this.finished.delete(this.finished.keys().next().value as string);
    }
  }
}
