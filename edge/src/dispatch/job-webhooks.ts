/**
 * The edge's webhooks for jobs that asked for them (POST /v1/generate webhook_url, optional
 * webhook_events): job.started when the job is first dispatched to a GPU worker, job.completed
 * when it has ended (succeeded, failed or canceled), the data being the job's public view.
 * Signed with the deployment's WEBHOOK_SECRET in the Standard Webhooks format and retried with
 * the project's back-off, bounded (shared/src/webhooks/signed-webhook.ts, the implementation the
 * GPU worker uses too). The webhook-id is derived from the job and event, so the same event sent
 * twice (a retry, an edge restart) is recognisably one.
 *
 * Deliveries run in the dispatcher Durable Object, in the background: a job never waits for one.
 * They are not persisted, so an event still being retried when the object is evicted is lost
 * (edge/README.md, "Webhooks").
 */
import { ValidationError } from "@budgetfusion/shared/errors";
import { WEBHOOK_EVENTS, type WebhookEvent } from "@budgetfusion/shared/schemas/worker-api";
import {
  type DeliveryResult,
  deliverWebhook,
  fetchPoster,
  WEBHOOK_ATTEMPT_TIMEOUT_MS,
} from "@budgetfusion/shared/webhooks/signed-webhook";
import type { JobRow } from "../db/queries/jobs";
import { jobView } from "../jobs/job-view";
import type { StoredJobRequest } from "./worker-call";

const postWithFetch = fetchPoster((url, init) =>
  fetch(url, { ...init, signal: AbortSignal.timeout(WEBHOOK_ATTEMPT_TIMEOUT_MS) }),
);

/** A 400 naming webhook_url when this deployment cannot sign (no WEBHOOK_SECRET). */
export function checkCanSign(secret: string | undefined, request: { webhook_url?: string }) {
  if (request.webhook_url !== undefined && secret === undefined) {
    throw new ValidationError("this deployment has no WEBHOOK_SECRET to sign webhooks with", {
      field: "webhook_url",
    });
  }
}

export class JobWebhooks {
  constructor(
    private readonly secret: string | undefined,
    /** Keeps the Durable Object working until the delivery has ended. */
    private readonly keep: (delivery: Promise<unknown>) => void,
  ) {}

  /** Sends `event` for `job` when its request asked for it; returns at once. */
  send(job: JobRow, event: WebhookEvent): void {
    const request = JSON.parse(job.request) as StoredJobRequest;
    const url = request.webhook_url;
    if (url === undefined || this.secret === undefined) return;
    if (!(request.webhook_events ?? WEBHOOK_EVENTS).includes(event)) return;
    const delivery = deliverWebhook(
      url,
      { id: `msg_${job.id}_${event}`, type: event, data: jobView(job) },
      {
        secret: this.secret,
        post: postWithFetch,
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      },
    ).then((result) => logFailure(job.id, event, result));
    this.keep(delivery);
  }
}

function logFailure(jobId: string, event: WebhookEvent, result: DeliveryResult) {
  if (result.delivered) return;
  console.warn(
    `webhook ${event} of job ${jobId} not delivered after ${result.attempts} attempt(s): ${result.error ?? `HTTP ${result.status}`}`,
  );
}
