/**
 * What the worker's HTTP app is given (hono-style injection: tests pass fakes, main.ts the real
 * pipeline). `state` is filled in once models finish loading, so /readyz can answer 503 before.
 */

import type { BatchStats, StepProgress } from "@budgetfusion/inference/batching/batch-engine";
import type { GenerateOptions, GenerateResult } from "@budgetfusion/inference/pipeline/sd-pipeline";
import type { TextEmbedder } from "@budgetfusion/shared/embedding/clip-text-embedder";
import type { RequestLimits } from "../config";
import type { JobRegistry } from "../jobs/job-registry";
import type { WebhookSender } from "../jobs/webhook-sender";
import type { WorkerMetrics } from "../metrics";
import type { PngEncoder } from "../png/png-encoder";
import type { JobQueue } from "../queue/job-queue";

/**
 * The pipeline as the app sees it: the batching engine in the worker (BatchEngine), a plain
 * SdPipeline (one request at a time, no progress) or a fake in tests.
 */
export interface ImageGenerator {
  readonly modelId: string;
  /** Image side used when a request gives no width/height. */
  readonly defaultSize: number;
  /** The model's scheduler_config.json, to validate overrides before queueing. */
  readonly schedulerConfig: Readonly<Record<string, unknown>>;
  generate(
    opts: GenerateOptions & { onProgress?: (p: StepProgress) => void },
  ): Promise<
    Pick<GenerateResult, "image" | "imageDims" | "seed" | "timings"> & { batch?: BatchStats }
  >;
}

export interface WorkerState {
  generator?: ImageGenerator;
  embedder?: TextEmbedder;
  /** Whether WORKER_CLIP_DIR was given (embedder pending vs not configured). */
  embedConfigured: boolean;
  /** Runtime name for /readyz. */
  runtime?: string;
  /** Set on SIGTERM: /readyz turns 503 so balancers stop sending work while the queue drains. */
  draining?: boolean;
}

export interface WorkerDeps {
  state: WorkerState;
  queue: JobQueue;
  /** Generations held, by job id (progress, cancel); createApp makes one when absent. */
  jobs?: JobRegistry;
  /** PNG encoding of answers; createApp encodes inline when absent (main.ts: a thread). */
  png?: PngEncoder;
  /** Signs and sends job webhooks; absent when WORKER_WEBHOOK_SECRET is unset (webhook_url: 400). */
  webhooks?: WebhookSender;
  metrics: WorkerMetrics;
  requestTimeoutMs: number;
  /** Bearer token every route but /healthz requires (unset: a loopback-only worker). */
  authToken?: string;
  /** Per-request work and memory bounds; default DEFAULT_LIMITS (config.ts defaults). */
  limits?: RequestLimits;
  /** Seed for requests without one; default crypto randomInt. */
  randomSeed?: () => number;
  log?: (msg: string, err?: unknown) => void;
}
