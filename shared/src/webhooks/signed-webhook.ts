/**
 * Signed webhook delivery in the Standard Webhooks format (https://www.standardwebhooks.com/):
 * headers webhook-id, webhook-timestamp (unix seconds) and webhook-signature ("v1,<base64 of
 * HMAC-SHA256(secret, `${id}.${timestamp}.${body}`)>"), the secret being "whsec_<base64>".
 * Receivers verify with any Standard Webhooks library or by hand (gpu-worker/README.md,
 * "Webhooks"); a timestamp more than 5 minutes away is rejected there, against replay.
 * Signing is the `standardwebhooks` package; back-off is the project's one schedule
 * (retry/backoff.ts). Pure: the HTTP
 * POST and the clock are injected, so the edge and the worker can both send: the worker loops in
 * memory (deliverWebhook), the edge keeps each delivery in D1 and makes one attempt per due time
 * (attemptWebhook, retryDelayMs).
 */
import { Webhook } from "standardwebhooks";
import { type BackoffPolicy, backoffDelayMs } from "../retry/backoff";

export interface WebhookMessage {
  /** Unique per event, the same on every retry, so receivers can drop duplicates. */
  id: string;
  /** The event name, e.g. "job.completed". */
  type: string;
  data: unknown;
}

/** One POST: resolves with the answer's status, rejects when no answer came (network, timeout). */
export type PostWebhook = (
  url: string,
  request: { headers: Record<string, string>; body: string },
) => Promise<number>;

/** One attempt's limit: a receiver that hangs counts as a failed attempt. */
export const WEBHOOK_ATTEMPT_TIMEOUT_MS = 10_000;

interface WebhookPostInit {
  method: "POST";
  headers: Record<string, string>;
  body: string;
  /** A redirect is the receiver's answer, not somewhere to send the signed body again. */
  redirect: "manual";
}

/** The sender's fetch, with its own timeout signal added (shared/ has no fetch of its own). */
export type WebhookFetch = (
  url: string,
  init: WebhookPostInit,
) => Promise<{ status: number; body: { cancel(): Promise<void> } | null }>;

/** The POST both senders deliver with: the answer's status, its body left unread. */
export function fetchPoster(fetchWithTimeout: WebhookFetch): PostWebhook {
  return async (url, { headers, body }) => {
    const res = await fetchWithTimeout(url, { method: "POST", headers, body, redirect: "manual" });
    await res.body?.cancel();
    return res.status;
  };
}

/** The bounded retry schedule both senders default to: attempts in all, first wait, cap. */
export const WEBHOOK_RETRY = { attempts: 5, firstDelayMs: 1000, maxDelayMs: 60_000 } as const;

/** The wait before the attempt after `failures` failed ones. */
export function retryDelayMs(
  failures: number,
  schedule: { firstDelayMs?: number; maxDelayMs?: number } = WEBHOOK_RETRY,
): number {
  const policy: BackoffPolicy = {
    baseMs: schedule.firstDelayMs ?? WEBHOOK_RETRY.firstDelayMs,
    maxMs: schedule.maxDelayMs ?? WEBHOOK_RETRY.maxDelayMs,
  };
  return backoffDelayMs(policy, failures);
}

export interface DeliveryOptions {
  /** "whsec_" + base64 of at least 24 random bytes. */
  secret: string;
  post: PostWebhook;
  now?: () => Date;
  /** Attempts in all (>= 1). Default 5. */
  attempts?: number;
  /** First retry delay, doubled per attempt up to maxDelayMs (equal jitter). Default 1000. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** Waits between attempts: the sender's timer (shared/ has none of its own). */
  sleep: (ms: number) => Promise<void>;
}

export interface DeliveryResult {
  delivered: boolean;
  attempts: number;
  /** The last answer's status, or undefined when the last attempt got none. */
  status?: number;
  error?: string;
}

const SECRET_PREFIX = "whsec_";
const MIN_SECRET_BYTES = 24;

/** Why `secret` is not a usable signing secret, or undefined when it is. */
export function secretProblem(secret: string): string | undefined {
  if (!secret.startsWith(SECRET_PREFIX)) return `must start with ${SECRET_PREFIX}`;
  const body = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) {
    return `must be ${SECRET_PREFIX} followed by base64`;
  }
  if ((body.length / 4) * 3 - (body.match(/=/g)?.length ?? 0) < MIN_SECRET_BYTES) {
    return `must hold at least ${MIN_SECRET_BYTES} bytes`;
  }
  return undefined;
}

/** The body and headers of one attempt (signed at `now`). */
export function signWebhook(
  secret: string,
  message: WebhookMessage,
  now: Date,
): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({
    type: message.type,
    timestamp: now.toISOString(),
    data: message.data,
  });
  return {
    body,
    headers: {
      "content-type": "application/json",
      "webhook-id": message.id,
      "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
      "webhook-signature": new Webhook(secret).sign(message.id, now, body),
    },
  };
}

/** Statuses worth another attempt: the receiver may answer differently later. */
const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

/**
 * One attempt: `ended` when another attempt cannot change the outcome (delivered, or a status
 * that will not change, such as a 4xx); otherwise worth retrying (no answer, 408, 429, 5xx).
 * Never throws.
 */
export async function attemptWebhook(
  url: string,
  message: WebhookMessage,
  options: { secret: string; post: PostWebhook; now: Date },
): Promise<{ ended: boolean; delivered: boolean; status?: number; error?: string }> {
  let status: number;
  try {
    status = await options.post(url, signWebhook(options.secret, message, options.now));
  } catch (err) {
    return {
      ended: false,
      delivered: false,
      error: err instanceof Error ? err.message : String(err),
    };
  }
  if (retryable(status)) return { ended: false, delivered: false, status, error: `HTTP ${status}` };
  return { ended: true, delivered: status >= 200 && status < 300, status };
}

/**
 * POSTs `message` to `url`, signed afresh per attempt; retries failed posts (network, timeout), 408,
 * 429 and 5xx with exponential back-off; any other status ends it (a 4xx will not change).
 * Never throws: the result says what happened.
 */
export async function deliverWebhook(
  url: string,
  message: WebhookMessage,
  options: DeliveryOptions,
): Promise<DeliveryResult> {
  const now = options.now ?? (() => new Date());
  const attempts = Math.max(1, options.attempts ?? WEBHOOK_RETRY.attempts);
  let last: { status?: number; error?: string } = {};
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await options.sleep(retryDelayMs(attempt - 1, options));
    const result = await attemptWebhook(url, message, { ...options, now: now() });
    if (result.ended)
      return { delivered: result.delivered, attempts: attempt, status: result.status };
    last = { status: result.status, error: result.error };
  }
  return { delivered: false, attempts, ...last };
}
