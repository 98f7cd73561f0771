/**
 * One call to a GPU worker's POST /v1/generate (worker API: image/png with x-bf-steps,
 * x-bf-seed, x-bf-model, x-bf-timings; 429/503 + Retry-After when it is full; 499 when the job
 * was canceled there), classified into what the dispatcher does next.
 */
import { retryAfterMs } from "@budgetfusion/shared/retry/backoff";
import { GENERATE_HEADERS, type WebhookEvent } from "@budgetfusion/shared/schemas/worker-api";

export interface WorkerGenerateBody {
  prompt: string;
  negative_prompt?: string;
  steps: number;
  guidance_scale?: number;
  seed: number;
  width?: number;
  height?: number;
  scheduler?: Record<string, unknown>;
}

/** A job's request as stored in D1: the worker's body plus what only the edge reads. */
export interface StoredJobRequest extends WorkerGenerateBody {
  /** The diffusion model the predictor was trained for; only its workers may run the job. */
  model_id?: string;
  /** Seconds from acceptance after which the job fails instead of being retried. */
  deadline_s?: number;
  /** The edge itself sends the job's webhooks (dispatch/job-webhooks.ts), not the worker. */
  webhook_url?: string;
  webhook_events?: WebhookEvent[];
}

/**
 * The body sent to the worker: the stored request without the edge-only keys, under the edge's
 * job id, by which the worker reports the job's progress and takes its cancel (worker-jobs.ts).
 */
export function workerBody(
  request: StoredJobRequest,
  jobId: string,
): WorkerGenerateBody & { job_id: string } {
  const {
    model_id: _model,
    deadline_s: _deadline,
    webhook_url: _url,
    webhook_events: _events,
    ...body
  } = request;
  return { ...body, job_id: jobId };
}

export type CallOutcome =
  | { kind: "ok"; png: ArrayBuffer; headers: Record<string, unknown> }
  /** Full (429/503): not a fault; retry elsewhere, this worker after `retryAfterMs`. */
  | { kind: "busy"; retryAfterMs: number; message: string }
  /** 404, other 4xx/5xx, connection error, timeout, bad body, wrong model: retry elsewhere. */
  | { kind: "retry"; message: string }
  /** 400/413/422: the request itself is bad; retrying cannot help. */
  | { kind: "fatal"; message: string }
  /** 499: the job was canceled on the worker (DELETE /v1/jobs/:id there); not a fault. */
  | { kind: "canceled"; message: string };

export interface CallOptions {
  timeoutMs: number;
  /** Bearer token the worker requires (gpu-worker WORKER_TOKEN). */
  token?: string;
  /** When set, an answer for another model is a worker fault. */
  modelId?: string;
  /** Aborted by the dispatcher when the worker stops heartbeating. */
  signal?: AbortSignal;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];
/** Answers that mean "this request is wrong", whichever worker gets it. */
const REQUEST_ERRORS = new Set([400, 413, 422]);
const DEFAULT_BUSY_MS = 1_000;
/** The worker's answer to a generation canceled while it waited or ran (gpu-worker/README.md). */
const CANCELED_STATUS = 499;

function parseTimings(raw: string | null): unknown {
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export async function callWorker(
  url: string,
  body: WorkerGenerateBody,
  opts: CallOptions,
): Promise<CallOutcome> {
  let res: Response;
  let png: ArrayBuffer;
  const signals = [AbortSignal.timeout(opts.timeoutMs)];
  if (opts.signal !== undefined) signals.push(opts.signal);
  try {
    res = await fetch(new URL("/v1/generate", url), {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "image/png",
        ...(opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` }),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.any(signals),
    });
    png = await res.arrayBuffer();
  } catch (err) {
    const reason = opts.signal?.aborted ? String(opts.signal.reason) : String(err);
    return { kind: "retry", message: `worker unreachable, timed out or silent: ${reason}` };
  }
  if (res.status === CANCELED_STATUS) {
    return { kind: "canceled", message: "the worker canceled the job (499)" };
  }
  if (res.status === 429 || res.status === 503) {
    return {
      kind: "busy",
      retryAfterMs: retryAfterMs(res.headers.get("retry-after")) ?? DEFAULT_BUSY_MS,
      message: `worker busy (${res.status})`,
    };
  }
  if (REQUEST_ERRORS.has(res.status)) {
    const text = new TextDecoder().decode(png).slice(0, 300);
    return { kind: "fatal", message: `worker rejected the request (${res.status}): ${text}` };
  }
  if (!res.ok) return { kind: "retry", message: `worker answered ${res.status}` };
  const head = new Uint8Array(png, 0, Math.min(4, png.byteLength));
  if (!PNG_MAGIC.every((b, i) => head[i] === b)) {
    return { kind: "retry", message: "worker answered 200 without a PNG body" };
  }
  const model = res.headers.get(GENERATE_HEADERS.model);
  if (opts.modelId !== undefined && model !== opts.modelId) {
    return { kind: "retry", message: `worker answered for model ${model}, not ${opts.modelId}` };
  }
  return {
    kind: "ok",
    png,
    headers: {
      steps: Number(res.headers.get(GENERATE_HEADERS.steps)),
      seed: Number(res.headers.get(GENERATE_HEADERS.seed)),
      model,
      worker: parseTimings(res.headers.get(GENERATE_HEADERS.timings)),
    },
  };
}
