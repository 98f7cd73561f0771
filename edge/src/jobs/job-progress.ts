/**
 * A queued or running job's progress: queued jobs are at step 0 with no ETA; a running job's
 * step and ETA come from the GPU worker its row names (worker_id), which knows the job by the
 * edge's id. elapsed_ms counts from acceptance, so it includes the queue wait.
 */
import type { JobProgressView } from "@budgetfusion/shared/schemas/edge-api";
import type { EdgeDb } from "../db/client";
import type { JobRow } from "../db/queries/jobs";
import { getWorker } from "../db/queries/workers";
import { workerProgress } from "../dispatch/worker-jobs";

export async function jobProgress(
  db: EdgeDb,
  job: JobRow,
  workerToken: string | undefined,
  now: number,
): Promise<JobProgressView> {
  const waiting = { step: 0, steps: job.steps, elapsed_ms: now - job.createdAt, eta_ms: null };
  if (job.status !== "running" || job.workerId === null) return waiting;
  const worker = await getWorker(db, job.workerId);
  if (worker === undefined) return waiting;
  const p = await workerProgress({ url: worker.url, token: workerToken }, job.id);
  // Unknown there (the dispatch has not arrived, or the worker restarted): still waiting.
  if (p === undefined) return waiting;
  return { step: p.step, steps: p.steps, elapsed_ms: waiting.elapsed_ms, eta_ms: p.eta_ms };
}
