/**
 * A job as consumers see it (GET /v1/jobs/:id, its event stream, webhook payloads): raw worker
 * answers, worker ids and internal error messages stay internal.
 */
import type { JobProgressView, JobResponse } from "@budgetfusion/shared/schemas/edge-api";
import type { JobRow } from "../db/queries/jobs";

/** Public messages per error code. */
const PUBLIC_ERRORS: Record<string, string> = {
  upstream_rejected: "a GPU worker rejected the generation request",
  deadline_exceeded: "no GPU worker completed the job within its deadline",
};

const FINAL_STATUSES: ReadonlySet<JobRow["status"]> = new Set(["succeeded", "failed", "canceled"]);

export const isFinished = (job: Pick<JobRow, "status">) => FINAL_STATUSES.has(job.status);

export function jobView(job: JobRow, progress?: JobProgressView): JobResponse {
  return {
    job_id: job.id,
    status: job.status,
    steps: job.steps,
    steps_source: job.stepsSource,
    seed: job.seed,
    attempt: job.attempt,
    predictor_version: job.predictorVersion,
    timings: job.timings === null ? null : (JSON.parse(job.timings) as Record<string, unknown>),
    image_url: job.status === "succeeded" ? `/v1/images/${job.id}` : null,
    ...(job.status === "failed" && job.errorCode !== null
      ? {
          error: {
            code: job.errorCode,
            message: PUBLIC_ERRORS[job.errorCode] ?? "the job failed",
          },
        }
      : {}),
    ...(progress === undefined || isFinished(job) ? {} : { progress }),
  };
}
