/**
 * Worker settings, parsed once from the environment at the entry point and passed down
 * (STYLE.md "Configuration": no process.env reads below main.ts). Errors name the variable.
 */
import { ConfigError } from "@budgetfusion/shared/errors";
import { secretProblem } from "@budgetfusion/shared/webhooks/signed-webhook";
import { z } from "zod";

const intFrom = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** Loopback addresses: a worker bound only to these is unreachable from other machines. */
const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

const envSchema = z.object({
  WORKER_PORT: intFrom(1, 65535).default(8788),
  /** Interface to listen on; loopback unless set (0.0.0.0 exposes it, and needs a token). */
  WORKER_HOST: z.string().min(1).default("127.0.0.1"),
  /** Bearer token every route but /healthz requires; default WORKER_TOKEN when it is set. */
  WORKER_AUTH_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /**
   * Work bound per request, batch x width x height x steps: 8 images of 768x768 at 50 steps.
   * One 2048x2048 200-step image (8.4e8) is refused; it cost 11.7 s of a worker (issue 12).
   */
  WORKER_MAX_PIXEL_STEPS: intFrom(1, 1e12).optional(),
  /** Local diffusers ONNX folder or hf:ORG/REPO[@rev]. */
  WORKER_MODEL_DIR: z.string().min(1, "is required"),
  /** transformers.js CLIP layout (onnx/text_model.onnx + tokenizer.json) for /v1/embed. */
  WORKER_CLIP_DIR: z.string().min(1).optional(),
  /** Requests in the running batch at once (the edge's capacity for this worker). */
  WORKER_CONCURRENCY: intFrom(1, 64).default(8),
  /**
   * Per UNet call: rows (a CFG pair is two) and image pixels (rows x H x W); a request whose
   * images x width x height is over the pixel bound is refused (8 x 2048^2 took 2.4 GB).
   */
  WORKER_MAX_BATCH_SAMPLES: intFrom(1, 256).default(8),
  WORKER_MAX_BATCH_PIXELS: intFrom(1, 1_000_000_000).default(8 * 768 * 768),
  /** 1: ONNX Runtime on a worker thread (the HTTP loop never waits for a UNet call); 0: inline. */
  WORKER_INFERENCE_THREAD: z.enum(["0", "1"]).default("1"),
  WORKER_QUEUE_LIMIT: intFrom(0, 10_000).default(16),
  WORKER_REQUEST_TIMEOUT_MS: intFrom(1, 86_400_000).default(300_000),
  /** Comma list in preference order: cpu, webgpu, cuda. */
  WORKER_EXECUTION_PROVIDERS: z
    .string()
    .default("cpu")
    .transform((s) =>
      s
        .split(",")
        .map((p) => p.trim())
        .filter((p) => p !== ""),
    )
    .pipe(z.array(z.enum(["cpu", "webgpu", "cuda", "tensorrt"])).min(1)),
  /** ORT intra-op threads per session; unset = ORT's default (all cores). */
  WORKER_INTRA_OP_THREADS: intFrom(1, 256).optional(),
  EDGE_URL: z.url().optional(),
  WORKER_TOKEN: z.string().min(1).optional(),
  /**
   * This worker's own credential (edge POST /admin/worker-credentials, "bfw_..."): sent to the
   * edge instead of WORKER_TOKEN. WORKER_TOKEN (or WORKER_AUTH_TOKEN) stays what the edge
   * presents here.
   */
  WORKER_CREDENTIAL: z
    .string()
    .startsWith("bfw_", "must be a credential issued by the edge (bfw_...)")
    .optional(),
  /** URL the edge uses to reach this worker; default http://127.0.0.1:PORT. */
  WORKER_PUBLIC_URL: z.url().optional(),
  WORKER_ID: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be 1-64 of [A-Za-z0-9._-]")
    .optional(),
  HF_HOME: z.string().optional(),
  HF_TOKEN: z.string().optional(),
  /** Signs job webhooks (Standard Webhooks "whsec_<base64>"); unset: webhook_url is refused. */
  WORKER_WEBHOOK_SECRET: z
    .string()
    .superRefine((s, ctx) => {
      const problem = secretProblem(s);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
});

export interface WorkerConfig {
  port: number;
  host: string;
  /** Required on every route but /healthz; undefined only on a loopback-bound worker. */
  authToken?: string;
  limits: RequestLimits;
  modelDir: string;
  clipDir?: string;
  concurrency: number;
  maxBatchSamples: number;
  maxBatchPixels: number;
  inferenceThread: boolean;
  queueLimit: number;
  requestTimeoutMs: number;
  executionProviders: string[];
  intraOpThreads?: number;
  /**
   * Set only when EDGE_URL and WORKER_CREDENTIAL or WORKER_TOKEN are: otherwise the worker runs
   * standalone. `token` is what the worker presents to the edge (its credential when it has one).
   */
  edge?: { url: string; token: string };
  publicUrl: string;
  workerId: string;
  hfHome?: string;
  hfToken?: string;
  webhookSecret?: string;
}

export interface RequestLimits {
  maxPixelSteps: number;
  maxBatchPixels: number;
}

/** The defaults of WORKER_MAX_PIXEL_STEPS and WORKER_MAX_BATCH_PIXELS (see envSchema). */
export const DEFAULT_LIMITS: RequestLimits = {
  maxPixelSteps: 8 * 768 * 768 * 50,
  maxBatchPixels: 8 * 768 * 768,
};

/** Parses the environment; ConfigError naming the variable on bad values. */
export function parseConfig(
  env: Record<string, string | undefined>,
  hostname = "worker",
): WorkerConfig {
  // Empty strings mean "unset", as shells commonly export them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ""));
  const r = envSchema.safeParse(cleaned);
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = String(issue.path[0] ?? "env");
    throw new ConfigError(`${key}: ${issue.message}`, { field: key });
  }
  const e = r.data;
  const edgeSecret = e.WORKER_CREDENTIAL ?? e.WORKER_TOKEN;
  if ((e.EDGE_URL === undefined) !== (edgeSecret === undefined)) {
    const [missing, message] =
      e.EDGE_URL === undefined
        ? ["EDGE_URL", "EDGE_URL: is required when WORKER_CREDENTIAL or WORKER_TOKEN is given"]
        : ["WORKER_CREDENTIAL", "WORKER_CREDENTIAL or WORKER_TOKEN: one is required with EDGE_URL"];
    throw new ConfigError(message, { field: missing });
  }
  const authToken = e.WORKER_AUTH_TOKEN ?? e.WORKER_TOKEN;
  if (authToken === undefined && !LOOPBACK.has(e.WORKER_HOST)) {
    throw new ConfigError(
      `WORKER_AUTH_TOKEN: is required when WORKER_HOST (${e.WORKER_HOST}) is not a loopback address`,
      { field: "WORKER_AUTH_TOKEN" },
    );
  }
  return {
    port: e.WORKER_PORT,
    host: e.WORKER_HOST,
    authToken,
    limits: {
      maxPixelSteps: e.WORKER_MAX_PIXEL_STEPS ?? DEFAULT_LIMITS.maxPixelSteps,
      maxBatchPixels: e.WORKER_MAX_BATCH_PIXELS ?? DEFAULT_LIMITS.maxBatchPixels,
    },
    modelDir: e.WORKER_MODEL_DIR,
    clipDir: e.WORKER_CLIP_DIR,
    concurrency: e.WORKER_CONCURRENCY,
    maxBatchSamples: e.WORKER_MAX_BATCH_SAMPLES,
    maxBatchPixels: e.WORKER_MAX_BATCH_PIXELS,
    inferenceThread: e.WORKER_INFERENCE_THREAD === "1",
    queueLimit: e.WORKER_QUEUE_LIMIT,
    requestTimeoutMs: e.WORKER_REQUEST_TIMEOUT_MS,
    executionProviders: e.WORKER_EXECUTION_PROVIDERS,
    intraOpThreads: e.WORKER_INTRA_OP_THREADS,
    edge:
      e.EDGE_URL !== undefined && edgeSecret !== undefined
        ? { url: e.EDGE_URL.replace(/\/+$/, ""), token: edgeSecret }
        : undefined,
    publicUrl: e.WORKER_PUBLIC_URL ?? `http://127.0.0.1:${e.WORKER_PORT}`,
    workerId:
      e.WORKER_ID ?? `${hostname.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 50)}-${e.WORKER_PORT}`,
    hfHome: e.HF_HOME,
    hfToken: e.HF_TOKEN,
    webhookSecret: e.WORKER_WEBHOOK_SECRET,
  };
}
