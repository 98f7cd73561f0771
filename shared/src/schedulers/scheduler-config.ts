/**
 * Parses a diffusers `scheduler_config.json` for the Euler discrete scheduler. Keys keep
 * diffusers' snake_case names and defaults (diffusers EulerDiscreteScheduler.__init__), so a
 * parsed config can be diffed against the file. Values the scheduler cannot honour are a
 * ConfigError naming the key; keys that other schedulers use are reported, not fatal, as
 * diffusers' ConfigMixin does. Every number is bounded, because overrides arrive from HTTP
 * clients and bundles: num_train_timesteps sizes arrays the scheduler allocates (1e8 exhausted
 * a worker's heap), and a beta of 1 or more makes alphas non-positive, so sigmas become NaN.
 */
import { z } from "zod";
import { ConfigError } from "../errors";

/** 10x what SD 1.x/2.x train with; the scheduler allocates a few arrays of this length. */
const MAX_TRAIN_TIMESTEPS = 10_000;
/** beta is a per-step noise variance: alphas = 1 - beta must stay positive. */
const beta = z.number().positive().lt(1, "must be below 1");

const eulerConfigSchema = z.object({
  num_train_timesteps: z.number().int().min(2).max(MAX_TRAIN_TIMESTEPS).default(1000),
  beta_start: beta.default(0.0001),
  beta_end: beta.default(0.02),
  beta_schedule: z.enum(["linear", "scaled_linear", "squaredcos_cap_v2"]).default("linear"),
  trained_betas: z.array(z.number().gt(0).lt(1)).max(MAX_TRAIN_TIMESTEPS).nullable().default(null),
  prediction_type: z.enum(["epsilon", "v_prediction", "sample"]).default("epsilon"),
  interpolation_type: z.enum(["linear"]).default("linear"),
  use_karras_sigmas: z.boolean().default(false),
  use_exponential_sigmas: z.literal(false).default(false),
  use_beta_sigmas: z.literal(false).default(false),
  sigma_min: z.number().positive().max(1e4).nullable().default(null),
  sigma_max: z.number().positive().max(1e4).nullable().default(null),
  timestep_spacing: z.enum(["linspace", "leading", "trailing"]).default("linspace"),
  timestep_type: z.enum(["discrete"]).default("discrete"),
  steps_offset: z.number().int().min(0).max(MAX_TRAIN_TIMESTEPS).default(0),
  rescale_betas_zero_snr: z.literal(false).default(false),
  final_sigmas_type: z.enum(["zero", "sigma_min"]).default("zero"),
});

export type EulerSchedulerConfig = Readonly<z.infer<typeof eulerConfigSchema>>;

/** Keys written by diffusers or by other schedulers' configs that Euler ignores (diffusers warns). */
const IGNORED_KEYS = new Set([
  "_class_name",
  "_diffusers_version",
  "clip_sample",
  "clip_sample_range",
  "set_alpha_to_one",
  "skip_prk_steps",
  "thresholding",
  "dynamic_thresholding_ratio",
  "sample_max_value",
  "variance_type",
]);

export interface ParsedSchedulerConfig {
  config: EulerSchedulerConfig;
  /** Keys present in the file that the Euler scheduler does not use. */
  ignoredKeys: string[];
  /** The subset of ignoredKeys that no known diffusers scheduler writes (likely typos). */
  unknownKeys: string[];
  /** Keys absent from the file that took diffusers' defaults. */
  defaultedKeys: string[];
}

/**
 * Parses `raw` (the JSON object of scheduler_config.json) with `overrides` merged over it.
 * Throws ConfigError with `field` set to the offending key.
 */
export function parseSchedulerConfig(
  raw: unknown,
  overrides: Record<string, unknown> = {},
): ParsedSchedulerConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError("scheduler config must be a JSON object", { field: "scheduler_config" });
  }
  const merged: Record<string, unknown> = { ...raw, ...overrides };
  const known = new Set(Object.keys(eulerConfigSchema.shape));
  const ignoredKeys = Object.keys(merged).filter((k) => !known.has(k));
  const unknownKeys = ignoredKeys.filter((k) => !IGNORED_KEYS.has(k));
  const candidate = Object.fromEntries(Object.entries(merged).filter(([k]) => known.has(k)));
  // JSON null means "not set" for these keys, as in diffusers' signatures.
  for (const key of ["trained_betas", "sigma_min", "sigma_max"]) {
    if (candidate[key] === undefined) delete candidate[key];
  }
  const parsed = eulerConfigSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue.path[0] ?? "scheduler_config");
    throw new ConfigError(
      `unsupported scheduler config value for "${key}": ${JSON.stringify(candidate[key])} (${issue.message})`,
      { field: key, details: parsed.error.issues },
    );
  }
  const config = parsed.data;
  if (config.trained_betas !== null && config.trained_betas.length !== config.num_train_timesteps) {
    throw new ConfigError(
      `trained_betas has ${config.trained_betas.length} values, num_train_timesteps is ${config.num_train_timesteps}`,
      { field: "trained_betas" },
    );
  }
  if (config.beta_end < config.beta_start) {
    throw new ConfigError("beta_end must not be smaller than beta_start", { field: "beta_end" });
  }
  const defaultedKeys = [...known].filter((k) => candidate[k] === undefined);
  return {
    config: Object.freeze(config),
    ignoredKeys,
    unknownKeys,
    defaultedKeys,
  };
}
