/**
 * Sends a job's webhooks (job.started, job.completed) in the background, signed with the
 * worker's WORKER_WEBHOOK_SECRET (shared/src/webhooks/signed-webhook.ts: Standard Webhooks,
 * bounded retries with back-off). A generation never waits for a delivery; shutdown does
 * (`idle()`), so an event already due is not dropped by a SIGTERM.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { WebhookEvent } from "@budgetfusion/shared/schemas/worker-api";
import {
  type DeliveryResult,
  deliverWebhook,
  fetchPoster,
  type PostWebhook,
  WEBHOOK_ATTEMPT_TIMEOUT_MS,
} from "@budgetfusion/shared/webhooks/signed-webhook";

const postWithFetch = fetchPoster((url, init) =>
  fetch(url, { ...init, signal: AbortSignal.timeout(WEBHOOK_ATTEMPT_TIMEOUT_MS) }),
);

export interface WebhookSenderOptions {
  post?: PostWebhook;
  attempts?: number;
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** Each delivery's outcome (logs; tests). */
  onDelivery?: (event: WebhookEvent, url: string, result: DeliveryResult) => void;
}

export class WebhookSender {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly secret: string,
    private readonly options: WebhookSenderOptions = {},
  ) {}

  send(url: string, event: WebhookEvent, data: unknown): void {
    const delivery = deliverWebhook(
      url,
      { id: `msg_${randomUUID()}`, type: event, data },
      {
        secret: this.secret,
        post: this.options.post ?? postWithFetch,
        attempts: this.options.attempts,
        firstDelayMs: this.options.firstDelayMs,
        maxDelayMs: this.options.maxDelayMs,
        sleep: (ms) => sleep(ms),
      },
    ).then((result) => this.options.onDelivery?.(event, url, result));
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
  }

  /** Resolves once every delivery started so far has ended (delivered or given up). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
