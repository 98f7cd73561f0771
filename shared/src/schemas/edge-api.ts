/**
 * Request and response schemas of the edge's public, worker-facing and admin API (SPEC §7).
 * The edge validates with them and serves them as OpenAPI (GET /openapi.json); clients (the
 * deploy CLI, the GPU worker's registration loop, tests) parse responses with them.
 */
import { z } from "zod";
import { METRIC_NAMES } from "../predictor/bundle-manifest";
import {
  MAX_GUIDANCE,
  MAX_SIZE,
  MAX_STEPS,
  MIN_SIZE,
  webhookEventsSchema,
  webhookUrlSchema,
  workerIdSchema,
} from "./worker-api";

const MAX_PROMPT_CHARS = 2000;

const promptSchema = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(MAX_PROMPT_CHARS, `at most ${MAX_PROMPT_CHARS} characters`);

/** Fixed generation steps: what a GPU worker accepts (worker-api.ts). */
const stepCount = z.number().int().min(1).max(MAX_STEPS);
const imageSide = z.number().int().min(MIN_SIZE).max(MAX_SIZE).multipleOf(8);
/** Budget bounds live on the dense predicted grid 1..129 (SPEC §1). */
const denseStep = z.number().int().min(1).max(129);

const perMetricStepsSchema = z.object({
  lsnr: z.number().int(),
  dsim: z.number().int(),
  iclip: z.number().int(),
});

const curvesSchema = z
  .object({
    steps: z.array(z.number().int()),
    lsnr: z.array(z.number()),
    dsim: z.array(z.number()),
    iclip: z.array(z.number()),
  })
  .meta({
    description:
      "Predicted dense metric curves at steps 1..dense_steps. lsnr is L-SNR = S/(S+N) (SPEC §3 revised): it falls as detail forms; its quality is 1 - lsnr.",
  });

const BUDGET_MODES = ["plateau", "quality", "allocate"] as const;
export type BudgetMode = (typeof BUDGET_MODES)[number];
/** What mode "allocate" maximises: the bundle's weighted metrics, or one metric alone. */
const ALLOCATION_OBJECTIVES = ["weighted", ...METRIC_NAMES] as const;

/** Whether a request's mode and quality leave room for an allocate-only field (which implies it). */
const allowsAllocate = (b: { mode?: BudgetMode; quality?: number }) =>
  (b.mode ?? "allocate") === "allocate" && b.quality === undefined;

export const budgetRequestSchema = z
  .object({
    prompt: promptSchema,
    min_steps: denseStep.optional(),
    max_steps: denseStep.optional(),
    /**
     * Quality target in (0, 1] (shared/src/plateau/quality-target.ts): the fewest steps at which
     * every predicted metric has covered this share of its predicted 1 -> 129-step change and
     * stays there (1 = the 129-step reference). Without it the plateau rule t* (SPEC §5) is used.
     */
    quality: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .meta({
        description:
          "Quality target in (0,1]. When given, steps = the fewest t at which every predicted " +
          "metric curve has covered this share of its change from step 1 to step 129 and stays " +
          "there (clamped to [min_steps, max_steps]); per_metric gives that t per metric. " +
          "Without it, steps = the plateau rule t* (SPEC §5).",
      }),
    /**
     * The rule that picks the steps: "plateau" (SPEC §5, the default), "quality" (with
     * `quality`; also implied by `quality` alone), or "allocate" (shared/src/plateau/allocate.ts:
     * the price-per-step argmax calibrated for the bundle's mean-steps target).
     */
    mode: z
      .enum(BUDGET_MODES)
      .optional()
      .meta({
        description:
          'The rule that picks the steps. "plateau" (default): t* (SPEC §5). "quality": see ' +
          '`quality`. "allocate": argmax over t of the weighted predicted quality relative to ' +
          "the bundle's UNIFORM count minus its calibrated price per step, which spends the " +
          "bundle's mean-steps target where the predicted curves gain most; needs a bundle " +
          "whose manifest has `allocation`.",
      }),
    /**
     * mode "allocate": the mean-steps budget to spend, an integer 1..129 whose price the bundle
     * calibrated (manifest `allocation_prices`); implies mode "allocate". Without it the
     * bundle's own target (`allocation`) is used.
     */
    mean_steps: denseStep.optional().meta({
      description:
        'Mode "allocate": spend this many steps per image on average (an integer 1..129), at ' +
        "the price the bundle calibrated for that target on its validation prompts; implies " +
        'mode "allocate". Without it, the bundle\'s own mean-steps target. Needs a bundle ' +
        "whose manifest has `allocation_prices`.",
    }),
    /**
     * mode "allocate": what the steps are spent on. "weighted" (default): the bundle's weighted
     * sum of the metrics (manifest `allocation.weights`); a metric name: that metric alone, at
     * prices the bundle calibrated for it (manifest `allocation_prices_by_metric`); implies mode
     * "allocate".
     */
    objective: z
      .enum(ALLOCATION_OBJECTIVES)
      .optional()
      .meta({
        description:
          'Mode "allocate": what the steps are spent on. "weighted" (default): the bundle\'s ' +
          'weighted sum of the three metrics. "lsnr", "dsim" or "iclip": that metric alone, at ' +
          "the prices the bundle calibrated for it (needs manifest `allocation_prices_by_metric`" +
          "), for `mean_steps` or else the bundle's own target rounded; implies mode " +
          '"allocate".',
      }),
    include_curves: z.boolean().optional(),
  })
  .strict()
  .refine(
    (b) => b.min_steps === undefined || b.max_steps === undefined || b.min_steps <= b.max_steps,
    {
      message: "min_steps must not exceed max_steps",
      path: ["min_steps"],
    },
  )
  .refine((b) => b.mode === undefined || (b.mode === "quality") === (b.quality !== undefined), {
    message: 'mode "quality" needs `quality`, and `quality` goes only with mode "quality"',
    path: ["mode"],
  })
  .refine((b) => b.mean_steps === undefined || allowsAllocate(b), {
    message: '`mean_steps` goes only with mode "allocate"',
    path: ["mean_steps"],
  })
  .refine((b) => b.objective === undefined || allowsAllocate(b), {
    message: '`objective` goes only with mode "allocate"',
    path: ["objective"],
  });
export type BudgetRequest = z.infer<typeof budgetRequestSchema>;

export const budgetResponseSchema = z.object({
  steps: z.number().int(),
  per_metric: perMetricStepsSchema,
  /** The paper's REFERENCE condition (65 steps), which savings are counted against. */
  reference_steps: z.number().int(),
  /** 1 - steps / reference_steps (negative when the budget exceeds the reference). */
  savings_vs_reference: z.number(),
  predictor_version: z.string(),
  /**
   * The network that answered: the bundle's trained predictor itself ("teacher"), or the edge
   * form it ships (bundle manifest edge_form): "exact" (the same network rearranged) or
   * "distilled" (a student whose agreement with the teacher the manifest records).
   */
  predictor_form: z.enum(["teacher", "exact", "distilled"]),
  mode: z.enum(BUDGET_MODES),
  /** mode "allocate": the bundle's price the steps were chosen with, and what it maximises. */
  allocation: z
    .object({
      lambda: z.number(),
      uniform_steps: z.number().int(),
      target_mean_steps: z.number(),
      objective: z.enum(ALLOCATION_OBJECTIVES),
    })
    .optional(),
  curves: curvesSchema.optional(),
});
export type BudgetResponse = z.infer<typeof budgetResponseSchema>;

const MIN_DEADLINE_S = 10;
const MAX_DEADLINE_S = 3600;

export const generateRequestSchema = z
  .object({
    prompt: promptSchema,
    negative_prompt: z.string().max(MAX_PROMPT_CHARS).optional(),
    steps: z.union([z.literal("auto"), stepCount]).default("auto"),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .optional(),
    guidance_scale: z.number().min(0).max(MAX_GUIDANCE).optional(),
    width: imageSide.optional(),
    height: imageSide.optional(),
    /** Seconds after acceptance when the job fails rather than waits any longer for a worker. */
    deadline_s: z.number().int().min(MIN_DEADLINE_S).max(MAX_DEADLINE_S).optional(),
    /** Where the edge POSTs the job's signed events (edge/README.md, "Webhooks"). */
    webhook_url: webhookUrlSchema.optional(),
    /** Which of job.started and job.completed to send; default both. */
    webhook_events: webhookEventsSchema.optional(),
  })
  .strict();

/** Idempotency-Key header of POST /v1/generate: visible ASCII, as HTTP header values allow. */
export const idempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, "1-255 visible ASCII characters");

export const generateQuerySchema = z.object({
  wait: z.coerce.number().min(0).max(120).optional(),
});

const jobStatusSchema = z.enum(["queued", "running", "succeeded", "failed", "canceled"]);

/**
 * Where a queued or running job stands: step and eta_ms are the GPU worker's (eta_ms null until
 * the job has joined its worker's running batch); elapsed_ms counts from the job's acceptance.
 */
const jobProgressViewSchema = z.object({
  step: z.number().int().min(0),
  steps: z.number().int().min(1),
  elapsed_ms: z.number().min(0),
  eta_ms: z.number().min(0).nullable(),
});
export type JobProgressView = z.infer<typeof jobProgressViewSchema>;

export const jobResponseSchema = z.object({
  job_id: z.string(),
  status: jobStatusSchema,
  steps: z.number().int(),
  steps_source: z.enum(["auto", "fixed"]),
  seed: z.number().int(),
  attempt: z.number().int(),
  predictor_version: z.string().nullable(),
  timings: z.record(z.string(), z.unknown()).nullable(),
  image_url: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  /** While queued or running; absent once the job has ended. */
  progress: jobProgressViewSchema.optional(),
});
export type JobResponse = z.infer<typeof jobResponseSchema>;

export const acceptedResponseSchema = z.object({ job_id: z.string(), status: jobStatusSchema });

/** What GPU workers send to register and heartbeat: defined with the worker API. */
export {
  type WorkerStatus as WorkerRegistration,
  workerStatusSchema as workerRegistrationSchema,
} from "./worker-api";

export const heartbeatResponseSchema = z.object({ heartbeat_interval_s: z.number() });

export const workerViewSchema = z.object({
  worker_id: z.string(),
  url: z.string(),
  model_id: z.string(),
  capacity: z.number().int(),
  queue_depth: z.number().int(),
  in_flight: z.number().int(),
  healthy: z.boolean(),
  last_heartbeat_at: z.string(),
});

export const createWorkerCredentialRequestSchema = z
  .object({
    worker_id: workerIdSchema.meta({
      description: "The only worker_id this credential may register, heartbeat and deregister",
    }),
    name: z
      .string()
      .trim()
      .min(1, "must not be empty")
      .max(100, "at most 100 characters")
      .optional(),
  })
  .strict();

export const workerCredentialViewSchema = z.object({
  credential_id: z.string(),
  worker_id: z.string(),
  name: z.string(),
  /** The first characters of the credential, to recognise it in lists; never enough to use it. */
  prefix: z.string(),
  created_at: z.string(),
  revoked_at: z.string().nullable(),
});

export const createdWorkerCredentialSchema = workerCredentialViewSchema.extend({
  credential: z.string().meta({
    description:
      "The secret the worker sends as 'Authorization: Bearer' (gpu-worker WORKER_CREDENTIAL). " +
      "Shown once: only its SHA-256 digest is stored.",
  }),
});

export const bundleViewSchema = z.object({
  version: z.string(),
  active: z.boolean(),
  created_at: z.string(),
  total_bytes: z.number().int(),
  embedding_runs_at: z.enum(["edge", "gpu-worker"]),
  diffusion_model: z.string(),
});
