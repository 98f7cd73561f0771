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
  })
  .strict();
export type GenerateRequest = z.input<typeof generateRequestSchema>;

const generateTimingsSchema = z.object({
  queue_ms: z.number(),
  text_ms: z.number(),
  unet_ms: z.number(),
  vae_ms: z.number(),
  total_ms: z.number(),
});
export type GenerateTimings = z.infer<typeof generateTimingsSchema>;

/** Headers of the image/png response; x-bf-timings holds GenerateTimings as JSON. */
export const GENERATE_HEADERS = {
  steps: "x-bf-steps",
  seed: "x-bf-seed",
  model: "x-bf-model",
  timings: "x-bf-timings",
} as const;

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
export const workerStatusSchema = z
  .object({
    worker_id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "1-64 of [A-Za-z0-9._-]"),
    url: z.url({ protocol: /^https?$/ }),
    model_id: z.string().min(1).max(200),
    capacity: z.number().int().min(1).max(1024),
    queue_depth: z.number().int().min(0),
    in_flight: z.number().int().min(0),
  })
  .strict();
export type WorkerStatus = z.infer<typeof workerStatusSchema>;

/** The edge's answer to register/heartbeat; interval defaults to 5 s when absent. */
export const registerResponseSchema = z.looseObject({
  heartbeat_interval_s: z.number().positive().optional(),
});
