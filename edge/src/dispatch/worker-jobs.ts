/**
 * The GPU worker's per-job routes, called for a job the edge has dispatched there (the job row's
 * worker_id names the worker; the worker knows the job by the edge's id, sent as job_id):
 * GET /v1/jobs/:id for its live progress and DELETE /v1/jobs/:id to cancel it.
 */
import { type JobProgress, jobProgressSchema } from "@budgetfusion/shared/schemas/worker-api";

/** A progress read must not hold up GET /v1/jobs/:id for long: a slow worker reads as unknown. */
const PROGRESS_TIMEOUT_MS = 2_000;
const CANCEL_TIMEOUT_MS = 5_000;

interface WorkerAddress {
  url: string;
  /** Bearer token the worker requires (gpu-worker WORKER_TOKEN). */
  token?: string;
}

function jobUrl(worker: WorkerAddress, jobId: string): URL {
  return new URL(`/v1/jobs/${encodeURIComponent(jobId)}`, worker.url);
}

function authorization(worker: WorkerAddress): Record<string, string> {
  return worker.token === undefined ? {} : { authorization: `Bearer ${worker.token}` };
}

/**
 * The job's progress on the worker, or undefined when the worker does not know it (yet: the
 * dispatch may not have arrived), is unreachable, or answers something else.
 */
export async function workerProgress(
  worker: WorkerAddress,
  jobId: string,
): Promise<JobProgress | undefined> {
  try {
    const res = await fetch(jobUrl(worker, jobId), {
      headers: { accept: "application/json", ...authorization(worker) },
      signal: AbortSignal.timeout(PROGRESS_TIMEOUT_MS),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    const parsed = jobProgressSchema.safeParse(await res.json());
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Tells the worker to cancel the job (it leaves the running batch at the next step boundary and
 * its generation answers 499). Resolves with whether the worker took it; never throws, since the
 * job is already canceled at the edge and a late answer from the worker is discarded.
 */
export async function cancelOnWorker(worker: WorkerAddress, jobId: string): Promise<boolean> {
  try {
    const res = await fetch(jobUrl(worker, jobId), {
      method: "DELETE",
      headers: authorization(worker),
      signal: AbortSignal.timeout(CANCEL_TIMEOUT_MS),
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
