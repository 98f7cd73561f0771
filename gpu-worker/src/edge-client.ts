/**
 * Registration with the edge (SPEC §7 "register GPU workers"): when EDGE_URL and a secret are
 * set, POST {EDGE_URL}/v1/workers/register with {worker_id, url, model_id, capacity, queue_depth,
 * in_flight, job_ids} and a bearer token (its credential, else WORKER_TOKEN), then POST
 * .../v1/workers/{id}/heartbeat with the same body every `heartbeat_interval_s` (from the edge's
 * answer, default 5 s). While the edge is unreachable the
 * client retries with exponential backoff (1 s doubling to 60 s, with jitter) and registers again.
 */
import { backoffDelayMs } from "@budgetfusion/shared/retry/backoff";
import { registerResponseSchema, type WorkerStatus } from "@budgetfusion/shared/schemas/worker-api";

export interface EdgeClientOptions {
  edgeUrl: string;
  token: string;
  /** Current status, read at every beat. */
  status: () => WorkerStatus;
  fetch?: typeof fetch;
  log?: (line: string) => void;
  /** Test hooks: the clock's timer and the jitter source. */
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
  random?: () => number;
}

const DEFAULT_INTERVAL_S = 5;
const BACKOFF = { baseMs: 1000, maxMs: 60_000 };

/** The edge answered a register or heartbeat with an error status. */
class EdgeRefusal extends Error {
  constructor(path: string, status: number, body: string) {
    let detail = body.slice(0, 300);
    try {
      const message = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
      if (typeof message === "string") detail = message;
    } catch {
      // Not JSON: the raw (cut) body is the detail.
    }
    super(`edge refused ${path} (${status}${detail ? `: ${detail}` : ""})`);
  }
}

export class EdgeClient {
  private registered = false;
  private intervalMs = DEFAULT_INTERVAL_S * 1000;
  private failures = 0;
  private timer: { cancel(): void } | undefined;
  private stopped = false;

  constructor(private readonly opts: EdgeClientOptions) {}

  /** Starts the register/heartbeat loop (first attempt immediately). */
  start(): void {
    this.stopped = false;
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /**
   * DELETE .../v1/workers/{id} after the queue drained, so the edge stops routing here at once
   * instead of after the heartbeat TTL. Best effort: a failure is logged, never thrown.
   */
  async deregister(): Promise<void> {
    const id = this.opts.status().worker_id;
    try {
      const res = await (this.opts.fetch ?? fetch)(
        `${this.opts.edgeUrl}/v1/workers/${encodeURIComponent(id)}`,
        {
          method: "DELETE",
          headers: { authorization: `Bearer ${this.opts.token}` },
          signal: AbortSignal.timeout(5_000),
        },
      );
      this.opts.log?.(`deregistered from ${this.opts.edgeUrl} (${res.status})`);
    } catch (err) {
      this.opts.log?.(`deregistration failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** One register or heartbeat attempt; returns the delay before the next, ms. Exposed for tests. */
  async beat(): Promise<number> {
    const status = this.opts.status();
    const path = this.registered
      ? `/v1/workers/${encodeURIComponent(status.worker_id)}/heartbeat`
      : "/v1/workers/register";
    try {
      const res = await (this.opts.fetch ?? fetch)(`${this.opts.edgeUrl}${path}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${this.opts.token}`,
          "content-type": "application/json",
        },
        body: JSON.stringify(status),
      });
      if (!res.ok) {
        // An edge that forgot us (404 on heartbeat) gets a fresh registration next time. A
        // refusal (bad token, a body the edge rejects) is retried too, since an operator can fix
        // it on the edge side, but the log says what the edge said, not that it is unreachable.
        throw new EdgeRefusal(path, res.status, await res.text().catch(() => ""));
      }
      const parsed = registerResponseSchema.safeParse(await res.json().catch(() => ({})));
      const interval = parsed.success ? parsed.data.heartbeat_interval_s : undefined;
      this.intervalMs = (interval ?? DEFAULT_INTERVAL_S) * 1000;
      if (!this.registered)
        this.opts.log?.(`registered with ${this.opts.edgeUrl} as ${status.worker_id}`);
      this.registered = true;
      this.failures = 0;
      return this.intervalMs;
    } catch (err) {
      this.registered = false;
      this.failures++;
      const delay = backoffDelayMs(BACKOFF, this.failures, this.opts.random);
      const why =
        err instanceof EdgeRefusal
          ? err.message
          : `edge unreachable (${err instanceof Error ? err.message : String(err)})`;
      this.opts.log?.(`${why}; retrying in ${delay} ms`);
      return delay;
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const delay = await this.beat();
    if (this.stopped) return;
    const setTimer =
      this.opts.setTimer ??
      ((fn: () => void, ms: number) => {
        const t = setTimeout(fn, ms);
        t.unref();
        return { cancel: () => clearTimeout(t) };
      });
    this.timer = setTimer(() => void this.tick(), delay);
  }
}
