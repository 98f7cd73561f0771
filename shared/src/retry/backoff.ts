/**
 * The one back-off schedule of the project: exponential growth from `baseMs` capped at `maxMs`,
 * with "equal jitter" (half fixed, half random) so that clients retrying after a shared outage
 * spread out instead of arriving together. Used by the edge dispatcher (job retries, a failing
 * worker's time out of the rotation), the GPU worker's edge client (register/heartbeat),
 * training's HTTP generator and webhook delivery (webhooks/signed-webhook.ts).
 *
 * Written here rather than taken from a retry library (p-retry, exponential-backoff): those own
 * the retry loop, and the loops here are a Durable Object alarm, a heartbeat timer and a
 * sequential request loop and a webhook's attempts; only the schedule and the Retry-After reading are shared.
 */

export interface BackoffPolicy {
  /** Delay after the first failure, before jitter. */
  readonly baseMs: number;
  /** Upper bound of any delay, before jitter. */
  readonly maxMs: number;
  /** false: exact delays (tests, or a schedule that must be predictable). Default true. */
  readonly jitter?: boolean;
}

/**
 * Delay before the next try after `failures` consecutive failures (1 = the first failure):
 * min(maxMs, baseMs * 2^(failures-1)), then scaled by a factor in [0.5, 1) when jittered.
 * `random` returns values in [0, 1) (injectable for tests).
 */
export function backoffDelayMs(
  policy: BackoffPolicy,
  failures: number,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, Math.floor(failures));
  // 2^(n-1) overflows to Infinity for large n, which min() turns into maxMs.
  const exact = Math.min(policy.maxMs, policy.baseMs * 2 ** (n - 1));
  if (policy.jitter === false) return exact;
  return Math.round(exact * (0.5 + 0.5 * random()));
}

/**
 * A Retry-After header in milliseconds (RFC 9110 §10.2.3: delay-seconds or an HTTP-date),
 * undefined when absent or unreadable. A date in the past is 0.
 */
export function retryAfterMs(
  header: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (header === null || header === undefined || header.trim() === "") return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // HTTP-dates end in "GMT"; without that check Date.parse would take "-5" or "1.5" as years.
  if (!/ GMT$/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
