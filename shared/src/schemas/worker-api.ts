/**
 * Request and response schemas of the GPU worker's HTTP API (SPEC §7 "GPU worker"). The worker
 * validates requests with them; the edge builds requests and parses responses with them. The
 * worker's CLI validates its flags through the same generate schema.
 */
import { z } from "zod";

const MAX_PROMPT_CHARS = 2000;
export const MAX_BATCH = 8;
export const MAX_STEPS = 200;
export const MIN_SIZE = 64;
export const MAX_SIZE = 2048;
export const MAX_GUIDANCE = 30;
export const MAX_EMBED_TEXTS = 64;

const promptText = z.string().max(MAX_PROMPT_CHARS, `at most ${MAX_PROMPT_CHARS} characters`);

const imageSide = z
  .number()
  .int("must be an integer")
  .min(MIN_SIZE, `must be at least ${MIN_SIZE}`)
  .max(MAX_SIZE, `must be at most ${MAX_SIZE}`)
  .refine((v) => v % 8 === 0, "must be a multiple of 8");

/** Job events a caller can ask to receive by webhook. */
export const WEBHOOK_EVENTS = ["job.started", "job.completed"] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** A webhook receiver: http or https only (both the edge's and the worker's requests). */
export const webhookUrlSchema = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

export const webhookEventsSchema = z
  .array(z.enum(WEBHOOK_EVENTS))
  .min(1, "needs at least one event")
  .refine((xs) => new Set(xs).size === xs.length, "must not repeat an event");

const jobId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 of [A-Za-z0-9_-]");

/** POST /v1/generate body. */
export const generateRequestSchema = z
  .object({
    /** One prompt, or one per image (batch <= 8). */
    prompt: z.union([
      promptText,
      z
        .array(promptText)
        .min(1, "needs at least one prompt")
        .max(MAX_BATCH, `at most ${MAX_BATCH} prompts per batch`),
    ]),
    negative_prompt: promptText.nullish(),
    steps: z
      .number()
      .int("must be an integer")
      .min(1, "must be at least 1")
      .max(MAX_STEPS, `must be at most ${MAX_STEPS}`),
    guidance_scale: z.number().min(0).max(MAX_GUIDANCE).default(7.5),
    seed: z.number().int().min(0).max(0xffff_ffff).optional(),
    /** Default: the model's native size (unet sample_size x VAE factor). */
    width: imageSide.optional(),
    height: imageSide.optional(),
    /** Keys merged over the model's scheduler_config.json (the active bundle's config). */
    scheduler: z.record(z.string(), z.unknown()).optional(),
    /** The caller's id for GET/DELETE /v1/jobs/:id (the edge sends its job id); default random. */
    job_id: jobId.optional(),
    /** Where to POST signed job events (Standard Webhooks; needs WORKER_WEBHOOK_SECRET). */
    webhook_url: webhookUrlSchema.optional(),
    /** Which events to send; default both. */
    webhook_events: webhookEventsSchema.optional(),
  })
  .strict();
export type GenerateRequest = z.input<typeof generateRequestSchema>;

const generateTimingsSchema = z.object({
  queue_ms: z.number(),
  text_ms: z.number(),
  unet_ms: z.number(),
  vae_ms: z.number(),
  total_ms: z.number(),
  /** Continuous batching: waiting for a place in the running batch, ms. */
  batch_wait_ms: z.number().optional(),
  /** Mean UNet rows of the calls the request shared (1 or 2 = it ran alone). */
  mean_batch_rows: z.number().optional(),
  /** Its share of those calls' time (call time x its rows / the call's rows): GPU time it used. */
  unet_share_ms: z.number().optional(),
});
export type GenerateTimings = z.infer<typeof generateTimingsSchema>;

/** Headers of the image/png response; x-bf-timings holds GenerateTimings as JSON. */
export const GENERATE_HEADERS = {
  steps: "x-bf-steps",
  seed: "x-bf-seed",
  model: "x-bf-model",
  timings: "x-bf-timings",
  jobId: "x-bf-job-id",
} as const;

/** A job's states on the worker; the last three are final. */
const JOB_STATES = ["queued", "running", "decoding", "succeeded", "failed", "canceled"] as const;

/**
 * GET /v1/jobs/:id on the worker (and each event of GET /v1/jobs/:id/events, and the data of a
 * webhook): where a generation stands. eta_ms is the remaining steps times the measured step
 * time at the current batch size, plus the decode; null while queued (it is known once the job
 * joins the running batch), 0 once final.
 */
export const jobProgressSchema = z.object({
  job_id: z.string(),
  state: z.enum(JOB_STATES),
  step: z.number().int().min(0),
  steps: z.number().int().min(1),
  elapsed_ms: z.number().min(0),
  eta_ms: z.number().min(0).nullable(),
  /** UNet rows of the iteration it runs in (0 while queued). */
  batch_size: z.number().int().min(0),
  /** Why it failed or was canceled (the error body's code and message). */
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type JobProgress = z.infer<typeof jobProgressSchema>;

/** JSON response of POST /v1/generate with Accept: application/json. */
const generateJsonResponseSchema = z.object({
  /** PNG of the first image; `images_base64` has every image of a batch. */
  image_base64: z.string(),
  images_base64: z.array(z.string()),
  steps: z.number().int(),
  seed: z.number().int(),
  model: z.string(),
  timings: generateTimingsSchema,
});
export type GenerateJsonResponse = z.infer<typeof generateJsonResponseSchema>;

/** POST /v1/embed body. */
export const embedRequestSchema = z
  .object({
    texts: z
      .array(promptText)
      .min(1, "needs at least one text")
      .max(MAX_EMBED_TEXTS, `at most ${MAX_EMBED_TEXTS} texts`),
  })
  .strict();

/** CLIP text embeddings, L2-normalised, one row per text. */
export const embedResponseSchema = z.object({
  model_id: z.string(),
  width: z.number().int(),
  embeddings: z.array(z.array(z.number())),
});
export type EmbedResponse = z.infer<typeof embedResponseSchema>;

/**
 * Body of POST {EDGE_URL}/v1/workers/register and .../{id}/heartbeat: the one definition both
 * sides use (the worker sends it, the edge validates it).
 */
/** A worker holding more jobs than this omits job_ids from its heartbeat (they would not fit). */
export const MAX_REPORTED_JOB_IDS = 1024;

/** A GPU worker's id: what the edge routes to and binds a credential to. */
export const workerIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "1-64 of [A-Za-z0-9._-]");

export const workerStatusSchema = z
  .object({
    worker_id: workerIdSchema,
    url: z.url({ protocol: /^https?$/ }),
    model_id: z.string().min(1).max(200),
    capacity: z.number().int().min(1).max(1024),
    queue_depth: z.number().int().min(0),
    in_flight: z.number().int().min(0),
    /**
     * The ids of the jobs the worker holds (queued or running). The edge re-queues an attempt
     * that the worker stops listing; a worker that omits the field is not checked this way.
     */
    job_ids: z.array(jobId).max(MAX_REPORTED_JOB_IDS).optional(),
  })
  .strict();
export type WorkerStatus = z.infer<typeof workerStatusSchema>;

/** The edge's answer to register/heartbeat; interval defaults to 5 s when absent. */
export const registerResponseSchema = z.looseObject({
  heartbeat_interval_s: z.number().positive().optional(),
});
