/**
 * Schemas of the consumer-facing API around the budget routes: API keys (admin), usage and
 * savings accounting per key and day, and canary rollout of predictor bundles. The edge
 * validates with them and serves them as OpenAPI; tests and clients parse responses with them.
 */
import { z } from "zod";
import { MAX_STEPS } from "./worker-api";

/** Plans a key can be on; each has its own rate-limiting bindings (wrangler.toml). */
export const PLAN_NAMES = ["free", "pro"] as const;
export type PlanName = (typeof PLAN_NAMES)[number];

/** The fixed step count a key compares its budgets with unless it declares its own. */
export const DEFAULT_BASELINE_STEPS = 50;

const day = z.iso.date();
const timestamp = z.string().meta({ description: "ISO 8601 time" });

const keyLimitsSchema = z.object({
  budgets_per_minute: z.number().int(),
  generations_per_minute: z.number().int(),
  concurrent_jobs: z.number().int().meta({
    description: "Jobs of this key that may be queued or running at once",
  }),
});

export const createKeyRequestSchema = z
  .object({
    name: z.string().trim().min(1, "must not be empty").max(100, "at most 100 characters"),
    plan: z.enum(PLAN_NAMES).default("free"),
    baseline_steps: z
      .number()
      .int()
      .min(1)
      .max(MAX_STEPS)
      .default(DEFAULT_BASELINE_STEPS)
      .meta({
        description:
          "The fixed step count this consumer would otherwise run; usage reports steps and GPU " +
          "seconds saved against it (and against the paper's 65-step REFERENCE).",
      }),
    concurrent_jobs: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .optional()
      .meta({ description: "Concurrent-jobs cap; default: the plan's" }),
  })
  .strict();

export const keyViewSchema = z.object({
  key_id: z.string(),
  name: z.string(),
  plan: z.enum(PLAN_NAMES),
  /** The first characters of the key, to recognise it in lists; never enough to use it. */
  prefix: z.string(),
  baseline_steps: z.number().int(),
  limits: keyLimitsSchema,
  created_at: timestamp,
  revoked_at: timestamp.nullable(),
});
export type KeyView = z.infer<typeof keyViewSchema>;

export const createdKeySchema = keyViewSchema.extend({
  api_key: z.string().meta({
    description: "The key itself. Shown once: only its SHA-256 digest is stored.",
  }),
});

const usageCountersSchema = z.object({
  budgets: z.number().int().meta({ description: "POST /v1/budget answers served" }),
  budget_steps: z.number().int().meta({ description: "Sum of the t* those budgets returned" }),
  budget_steps_saved_vs_baseline: z.number().int(),
  budget_steps_saved_vs_reference: z.number().int(),
  jobs: z.number().int().meta({ description: "Generation jobs accepted" }),
  steps_requested: z.number().int().meta({ description: "Sum of the accepted jobs' steps" }),
  jobs_succeeded: z.number().int(),
  jobs_failed: z.number().int(),
  jobs_canceled: z.number().int().meta({ description: "Jobs canceled by DELETE /v1/jobs/:id" }),
  steps_spent: z.number().int().meta({ description: "Sum of the succeeded jobs' steps" }),
  gpu_seconds: z.number().meta({
    description: "Model compute of the succeeded jobs, from the workers' timings",
  }),
  auto_jobs: z.number().int().meta({
    description: "Succeeded jobs whose steps were the predicted t* (steps: auto)",
  }),
  steps_saved_vs_baseline: z.number().int().meta({
    description: "Over auto jobs: sum of (baseline_steps - t*); negative when t* exceeds it",
  }),
  steps_saved_vs_reference: z.number().int().meta({
    description: "Over auto jobs: sum of (65 - t*)",
  }),
  gpu_seconds_saved_vs_baseline: z.number().meta({
    description:
      "Over auto jobs: compute the image would have taken at baseline_steps minus what it " +
      "took (the UNet share scales with steps, text encoder and VAE do not)",
  }),
  gpu_seconds_saved_vs_reference: z.number(),
});
export type UsageCounters = z.infer<typeof usageCountersSchema>;

const usageDaySchema = usageCountersSchema.extend({ day });

/** A day range; `from` after `to` or more than a year is refused by the edge (field "from"). */
export const usageQuerySchema = z.object({
  from: day.optional().meta({ description: "First day (UTC), default 29 days before `to`" }),
  to: day.optional().meta({ description: "Last day (UTC), default today" }),
});

const keyUsageSchema = z.object({
  key_id: z.string(),
  name: z.string(),
  plan: z.enum(PLAN_NAMES).nullable(),
  baseline_steps: z.number().int(),
  days: z.array(usageDaySchema),
  totals: usageCountersSchema,
});

export const usageResponseSchema = keyUsageSchema.extend({
  reference_steps: z.number().int(),
  from: day,
  to: day,
});
export type UsageResponse = z.infer<typeof usageResponseSchema>;

export const adminUsageResponseSchema = z.object({
  reference_steps: z.number().int(),
  from: day,
  to: day,
  keys: z.array(keyUsageSchema),
  totals: usageCountersSchema,
});
export type AdminUsageResponse = z.infer<typeof adminUsageResponseSchema>;

export const canaryRequestSchema = z
  .object({
    share: z
      .number()
      .gt(0)
      .max(1)
      .meta({
        description:
          "Share of budget traffic the candidate serves, chosen by a hash of the prompt " +
          "(the same prompt always lands on the same side)",
      }),
  })
  .strict();

export const canaryViewSchema = z.object({
  version: z.string(),
  stable_version: z.string().meta({ description: "The version active when the canary started" }),
  share: z.number(),
  status: z.enum(["running", "promoted", "aborted"]),
  started_at: timestamp,
  ended_at: timestamp.nullable(),
  traffic: z.object({
    budgets: z.number().int().meta({ description: "Budgets computed while it ran" }),
    canary_budgets: z.number().int().meta({ description: "Of those, served by the candidate" }),
    observed_share: z.number().nullable(),
  }),
  agreement: z.object({
    samples: z.number().int().meta({
      description: "Canary prompts with both bundles' t* recorded",
    }),
    mean_difference: z
      .number()
      .nullable()
      .meta({ description: "Mean of candidate t* - stable t*" }),
    mean_abs_difference: z.number().nullable(),
    identical_share: z.number().nullable(),
    quantiles: z
      .object({
        p05: z.number(),
        p25: z.number(),
        p50: z.number(),
        p75: z.number(),
        p95: z.number(),
      })
      .nullable(),
    histogram: z
      .array(z.object({ difference: z.number().int(), count: z.number().int() }))
      .meta({ description: "Count of each t* difference (candidate - stable)" }),
  }),
});
export type CanaryView = z.infer<typeof canaryViewSchema>;
