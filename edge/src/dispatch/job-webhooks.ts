/**
 * The edge's webhooks for jobs that asked for them (POST /v1/generate webhook_url, optional
 * webhook_events): job.started when the job is first dispatched to a GPU worker, job.completed
 * when it has ended (succeeded, failed or canceled), the data being the job's public view.
 * Signed with the deployment's WEBHOOK_SECRET in the Standard Webhooks format and retried on the
 * project's back-off, bounded (shared/src/webhooks/signed-webhook.ts, the implementation the GPU
 * worker uses too). The webhook-id is derived from the job and event, so an event is stored and
 * sent once, and its retries are recognisably the same message.
 *
 * Each event is a row in D1 (webhook_deliveries) until it is delivered or its attempts are spent:
 * the first attempt is made at once, each retry when the dispatcher's alarm finds it due, so a
 * retry survives the Durable Object's eviction or an edge restart. A job never waits for one.
 */
import { ValidationError } from "@budgetfusion/shared/errors";
import { WEBHOOK_EVENTS, type WebhookEvent } from "@budgetfusion/shared/schemas/worker-api";
import {
  attemptWebhook,
  fetchPoster,
  retryDelayMs,
  WEBHOOK_ATTEMPT_TIMEOUT_MS,
  WEBHOOK_RETRY,
} from "@budgetfusion/shared/webhooks/signed-webhook";
import type { EdgeDb } from "../db/client";
import type { JobRow } from "../db/queries/jobs";
import {
  claimDelivery,
  type DeliveryRow,
  dueDeliveries,
  insertDelivery,
  nextDeliveryAt,
  pruneDeliveries,
  recordAttempt,
} from "../db/queries/webhook-deliveries";
import { jobView } from "../jobs/job-view";
import type { StoredJobRequest } from "./worker-call";

const postWithFetch = fetchPoster((url, init) =>
  fetch(url, { ...init, signal: AbortSignal.timeout(WEBHOOK_ATTEMPT_TIMEOUT_MS) }),
);

/** How long an attempt holds its row: past its own timeout, it is presumed lost and due again. */
const ATTEMPT_LEASE_MS = WEBHOOK_ATTEMPT_TIMEOUT_MS + 5_000;
/** Due deliveries started per alarm. */
const DUE_BATCH = 32;
/** Ended deliveries are kept this long (what was sent, and how it went), then dropped... */
const KEEP_ENDED_MS = 7 * 86_400_000;
/** ...by a sweep at most this often per dispatcher instance. */
const PRUNE_EVERY_MS = 3_600_000;

/** A 400 naming webhook_url when this deployment cannot sign (no WEBHOOK_SECRET). */
export function checkCanSign(secret: string | undefined, request: { webhook_url?: string }) {
  if (request.webhook_url !== undefined && secret === undefined) {
    throw new ValidationError("this deployment has no WEBHOOK_SECRET to sign webhooks with", {
      field: "webhook_url",
    });
  }
}

export class JobWebhooks {
  private prunedAt = 0;

  constructor(
    private readonly db: EdgeDb,
    private readonly secret: string | undefined,
    /** Keeps the Durable Object working until an attempt has ended. */
    private readonly keep: (attempt: Promise<unknown>) => void,
    /** Asks the dispatcher's alarm to come back by `at` for a retry. */
    private readonly wakeBy: (at: number) => Promise<void>,
  ) {}

  /** Stores `event` for `job` when its request asked for it, and starts its first attempt. */
  async enqueue(job: JobRow, event: WebhookEvent): Promise<void> {
    const request = JSON.parse(job.request) as StoredJobRequest;
    const url = request.webhook_url;
    if (url === undefined || this.secret === undefined) return;
    if (!(request.webhook_events ?? WEBHOOK_EVENTS).includes(event)) return;
    const now = Date.now();
    const row: DeliveryRow = {
      id: `msg_${job.id}_${event}`,
      jobId: job.id,
      url,
      type: event,
      data: JSON.stringify(jobView(job)),
      attempts: 0,
      // Stored already claimed by this first attempt.
      nextAttemptAt: now + ATTEMPT_LEASE_MS,
      deliveredAt: null,
      lastStatus: null,
      lastError: null,
      createdAt: now,
    };
    if (await insertDelivery(this.db, row)) this.keep(this.attempt(row));
  }

  /**
   * Starts an attempt of every delivery of the shard's jobs that is due (the dispatcher's
   * alarm); returns at once.
   */
  async startDue(shard: string, now: number): Promise<void> {
    if (now - this.prunedAt >= PRUNE_EVERY_MS) {
      this.prunedAt = now;
      await pruneDeliveries(this.db, now - KEEP_ENDED_MS);
    }
    if (this.secret === undefined) return;
    for (const d of await dueDeliveries(this.db, shard, now, DUE_BATCH)) {
      const leaseUntil = now + ATTEMPT_LEASE_MS;
      if (d.nextAttemptAt === null) continue;
      if (!(await claimDelivery(this.db, d.id, d.nextAttemptAt, leaseUntil))) continue;
      this.keep(this.attempt({ ...d, nextAttemptAt: leaseUntil }));
    }
  }

  /** When the dispatcher's alarm is next needed for a delivery (undefined: none pending). */
  nextDue(shard: string): Promise<number | undefined> {
    return this.secret === undefined ? Promise.resolve(undefined) : nextDeliveryAt(this.db, shard);
  }

  private async attempt(d: DeliveryRow): Promise<void> {
    if (this.secret === undefined) return;
    const result = await attemptWebhook(
      d.url,
      { id: d.id, type: d.type, data: JSON.parse(d.data) as unknown },
      { secret: this.secret, post: postWithFetch, now: new Date() },
    );
    const attempts = d.attempts + 1;
    const now = Date.now();
    const retry = !result.ended && attempts < WEBHOOK_RETRY.attempts;
    const nextAttemptAt = retry ? now + retryDelayMs(attempts) : null;
    await recordAttempt(this.db, d.id, {
      attempts,
      nextAttemptAt,
      deliveredAt: result.delivered ? now : null,
      lastStatus: result.status ?? null,
      lastError: result.error ?? null,
    });
    if (nextAttemptAt !== null) await this.wakeBy(nextAttemptAt);
    else if (!result.delivered) {
      console.warn(
        `webhook ${d.type} of job ${d.jobId} not delivered after ${attempts} attempt(s): ${result.error ?? `HTTP ${result.status}`}`,
      );
    }
  }
}
