/**
 * One call to a GPU worker's POST /v1/generate (worker API: image/png with x-bf-steps,
 * x-bf-seed, x-bf-model, x-bf-timings; 429 + Retry-After when its queue is full), classified
 * into what the dispatcher does next.
 */
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

export type CallOutcome =
  | { kind: "ok"; png: ArrayBuffer; headers: Record<string, unknown> }
  /** Queue full: retry elsewhere now, this worker after `retryAfterS`. */
  | { kind: "busy"; retryAfterS: number; message: string }
  /** 5xx, connection error, timeout, bad body: the worker is suspect; retry elsewhere. */
  | { kind: "retry"; message: string }
  /** 4xx: the request itself is bad; retrying cannot help. */
  | { kind: "fatal"; message: string };

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];

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
  timeoutMs: number,
): Promise<CallOutcome> {
  let res: Response;
  let png: ArrayBuffer;
  try {
    res = await fetch(new URL("/v1/generate", url), {
      method: "POST",
      headers: { "content-type": "application/json", accept: "image/png" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    png = await res.arrayBuffer();
  } catch (err) {
    return { kind: "retry", message: `worker unreachable or timed out: ${String(err)}` };
  }
  if (res.status === 429 || res.status === 503) {
    const after = Number(res.headers.get("retry-after") ?? "1");
    return {
      kind: "busy",
      retryAfterS: Number.isFinite(after) && after > 0 ? after : 1,
      message: `worker busy (${res.status})`,
    };
  }
  if (res.status >= 500) return { kind: "retry", message: `worker answered ${res.status}` };
  if (!res.ok) {
    const text = new TextDecoder().decode(png).slice(0, 300);
    return { kind: "fatal", message: `worker rejected the request (${res.status}): ${text}` };
  }
  const head = new Uint8Array(png, 0, Math.min(4, png.byteLength));
  if (!PNG_MAGIC.every((b, i) => head[i] === b)) {
    return { kind: "retry", message: "worker answered 200 without a PNG body" };
  }
  return {
    kind: "ok",
    png,
    headers: {
      steps: Number(res.headers.get("x-bf-steps")),
      seed: Number(res.headers.get("x-bf-seed")),
      model: res.headers.get("x-bf-model"),
      worker: parseTimings(res.headers.get("x-bf-timings")),
    },
  };
}
