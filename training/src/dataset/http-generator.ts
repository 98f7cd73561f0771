/**
 * HTTP adapter of the Generator port: a pool of GPU workers behind POST /v1/generate (the same
 * contract the edge uses, shared/src/schemas/worker-api.ts), PNG responses. Requests are spread
 * round-robin over the worker URLs; retryable failures (network errors, 429, 5xx) are retried on
 * the next worker with exponential backoff and jitter, honouring Retry-After. Other 4xx are the
 * caller's error and fail at once.
 */
import { UpstreamError, ValidationError } from "@budgetfusion/shared/errors";
import { backoffDelayMs, retryAfterMs } from "@budgetfusion/shared/retry/backoff";
import {
  type GenerateRequest,
  generateRequestSchema,
} from "@budgetfusion/shared/schemas/worker-api";
import type { GenerationRequest, GenerationResult, Generator } from "./generator";

export interface HttpGeneratorOptions {
  urls: readonly string[];
  /** Bearer token for the workers, when they require one. */
  token?: string;
  /** Attempts per image before giving up (default 8). */
  maxAttempts?: number;
  /** First backoff in ms (default 500), doubled per attempt up to maxBackoffMs (default 30 s). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Per-request timeout in ms (default 10 min). */
  timeoutMs?: number;
  modelId?: string;
  fetchImpl?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);

export class HttpGenerator implements Generator {
  readonly modelId: string;
  private next = 0;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: HttpGeneratorOptions) {
    if (options.urls.length === 0) {
      throw new ValidationError("at least one worker URL is needed", { field: "workers" });
    }
    this.modelId = options.modelId ?? "gpu-worker-pool";
    this.fetchImpl = options.fetchImpl ?? fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async generate(request: GenerationRequest): Promise<GenerationResult> {
    const body: GenerateRequest = generateRequestSchema.parse({
      prompt: request.prompt,
      negative_prompt: request.negativePrompt ?? undefined,
      steps: request.steps,
      guidance_scale: request.guidanceScale,
      seed: request.seed,
      width: request.width,
      height: request.height,
      ...(request.scheduler ? { scheduler: request.scheduler } : {}),
    });
    const maxAttempts = this.options.maxAttempts ?? 8;
    let lastError: unknown;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const url = this.options.urls[this.next++ % this.options.urls.length];
      const started = performance.now();
      let retryAfter: number | undefined;
      try {
        const res = await this.fetchImpl(new URL("/v1/generate", url), {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "image/png",
            ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
          },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 600_000),
        });
        if (res.ok) {
          const png = new Uint8Array(await res.arrayBuffer());
          return { png, ms: performance.now() - started };
        }
        const text = await res.text().catch(() => "");
        lastError = new UpstreamError(
          `worker ${url} answered ${res.status}: ${text.slice(0, 200)}`,
        );
        if (!RETRYABLE.has(res.status)) throw lastError;
        retryAfter = retryAfterMs(res.headers.get("retry-after"));
      } catch (err) {
        if (err === lastError) throw err;
        lastError = err;
      }
      const backoff = backoffDelayMs(
        { baseMs: this.options.baseBackoffMs ?? 500, maxMs: this.options.maxBackoffMs ?? 30_000 },
        attempt + 1,
      );
      await this.sleep(Math.max(retryAfter ?? 0, backoff));
    }
    throw new UpstreamError(`generation failed after ${maxAttempts} attempts`, {
      cause: lastError,
    });
  }

  async close(): Promise<void> {}
}
