/**
 * The predictor bundle manifest: everything serving needs to reproduce training's view of the
 * world (SPEC §1, §4, §5). Training writes it (artifacts/bundles/<version>/manifest.json), the
 * edge verifies and reads it; nothing about a predictor is hard-coded in serving. Every object
 * is strict: a key the schema does not know is refused, naming it, rather than silently ignored
 * (a misspelt setting would otherwise take its default). `evaluation` is free-form.
 */
import { z } from "zod";
import { LSNR_DEFINITIONS, type LsnrDefinition } from "../metrics/lsnr-definition";

export const BUNDLE_FORMAT = "budgetfusion.predictor-bundle/v1";

export const METRIC_NAMES = ["lsnr", "dsim", "iclip"] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

const SAFE_RELATIVE_PATH = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._\-/]{1,200}$/;

const fileRefSchema = z.strictObject({
  file: z.string().regex(SAFE_RELATIVE_PATH, "a relative path inside the bundle, without '..'"),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "64 lowercase hex digits"),
  bytes: z.number().int().nonnegative().optional(),
});
export type FileRef = z.infer<typeof fileRefSchema>;

const perMetric = <T extends z.ZodTypeAny>(schema: T) =>
  z.strictObject({ lsnr: schema, dsim: schema, iclip: schema });

const stepEncodingSchema = z.strictObject({
  /** Transformer sinusoidal encoding of the dense step index t (1-based), see step-encoding.ts. */
  type: z.literal("sinusoidal"),
  base: z.number().positive().default(10_000),
  /** Multiplier applied to the raw sin/cos vector; 1/sqrt(width/2) gives it unit L2 norm. */
  scale: z.number().positive(),
  width: z.number().int().positive(),
  /**
   * The position the sinusoid encodes: the step t itself, or log_step = 1 + 128 ln t / ln 129
   * (the same 1..129 span, stretched where curves change fast and compressed where they are
   * flat). Absent in older bundles: "step".
   */
  position: z.enum(["step", "log_step"]).default("step"),
});
export type StepEncoding = z.infer<typeof stepEncodingSchema>;

/**
 * What each metric's head was trained to predict, where a metric's definition changed: L-SNR's
 * direction was revised (SPEC §3), so a bundle records which one its head outputs.
 */
const metricDefinitionsSchema = z.object({
  lsnr: z.object({
    definition: z.enum(LSNR_DEFINITIONS),
    /**
     * Set when the head was trained on this definition and its output mapped y -> 1 - y to
     * give the other one (training's bundle:convert-lsnr), so the bundle says where it came from.
     */
    converted_from: z.enum(LSNR_DEFINITIONS).optional(),
  }),
});

/**
 * Agreement of a non-exact edge form with the teacher (the BiLSTM training produced) over
 * validation prompts: dense-curve MAE over all three metrics, the share of prompts whose plateau
 * t* (SPEC §5, the bundle's own plateau params) agrees within 1 and within 3 steps, and the
 * largest |t*_edge - t*_teacher|.
 */
const edgeFormAgreementSchema = z.object({
  prompts: z.number().int().positive(),
  curve_mae: z.number().nonnegative(),
  t_star_within_1: z.number().min(0).max(1),
  t_star_within_3: z.number().min(0).max(1),
  worst_t_star_diff: z.number().int().nonnegative(),
});
export type EdgeFormAgreement = z.infer<typeof edgeFormAgreementSchema>;

/**
 * A faster form of the teacher that the edge serves instead of `predictor.files` (which then
 * stay in the bundle for evaluation but are not uploaded to the edge). Input `embedding`
 * [1, width] (the L2-normalised p̄: the step encoding is folded in), output `scores`
 * [1, dense_steps, 3] in `metrics` order. "exact": the teacher's network rearranged (equal up to
 * float rounding); "distilled": a student trained on the teacher's outputs.
 */
const edgeFormSchema = z.object({
  kind: z.enum(["exact", "distilled"]),
  /** How it was made, e.g. "bilstm+layer1-step-projection+one-session", "mlp-student". */
  method: z.string().min(1),
  file: fileRefSchema,
  input: z.string().default("embedding"),
  output: z.string().default("scores"),
  agreement: edgeFormAgreementSchema,
  /**
   * Validation prompts the edge re-scores at upload: raw little-endian float32 rows, each
   * p̄ [width] followed by the teacher's curves [dense_steps, 3] (metrics order).
   */
  probe: fileRefSchema.extend({ prompts: z.number().int().positive() }),
});
export type EdgeForm = z.infer<typeof edgeFormSchema>;

/**
 * The allocate mode's calibration (shared/src/plateau/allocate.ts): the price per step λ, found
 * on validation prompts for the operator's mean-steps target, the UNIFORM count U the gains are
 * relative to, and the metric weights. Absent: the bundle serves no `mode: "allocate"`.
 */
const allocationSchema = z.object({
  lambda: z.number().nonnegative(),
  uniform_steps: z.number().int().min(1),
  weights: perMetric(z.number().nonnegative()),
  target_mean_steps: z.number().min(1),
  /** The mean allocated steps over the calibration prompts at λ. */
  calibrated_mean_steps: z.number().min(1),
  calibration_prompts: z.number().int().positive(),
});

/**
 * The allocate mode's price for every integer mean-steps target 1..dense_steps (prices[k - 1] is
 * target k; shared/src/plateau/allocate.ts calibrateAllocationTable), calibrated like
 * `allocation` on the same validation prompts: a request's `mean_steps` picks one. Absent: only
 * the bundle's own target is served.
 */
const allocationPricesSchema = allocationSchema
  .pick({ weights: true, calibration_prompts: true })
  .extend({
    prices: z
      .array(
        allocationSchema.pick({ lambda: true, uniform_steps: true, calibrated_mean_steps: true }),
      )
      .min(1),
  });

/** A bundle version: also its folder name and its key in R2, so a safe path segment. */
export const bundleVersionSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "1-64 of [A-Za-z0-9._-]");

export const bundleManifestSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  version: bundleVersionSchema,
  created_at: z.string().datetime(),
  metrics: z.array(z.enum(METRIC_NAMES)).length(3),
  step_grid: z.array(z.number().int().min(1)).min(2),
  dense_steps: z.number().int().min(2),
  /** t_N, the dense reference step count the metrics were measured against (129), not the
   * paper's 65-step REFERENCE condition. */
  reference_steps: z.number().int().min(1),
  diffusion_model: z.strictObject({
    id: z.string().min(1),
    /** scheduler_config.json as generation must use it (model config plus overrides). */
    scheduler_config: z.record(z.string(), z.unknown()),
    /**
     * The generation settings the dataset used. A budget is only valid for the settings it was
     * measured under, so serving uses these as defaults when a caller does not set them.
     */
    generation: z
      .object({
        guidance_scale: z.number().min(0).max(30),
        width: z.number().int().min(8).multipleOf(8),
        height: z.number().int().min(8).multipleOf(8),
      })
      .optional(),
  }),
  embedding: z.strictObject({
    model_id: z.string().min(1),
    width: z.number().int().positive(),
    /** "edge": text model and tokenizer ship in the bundle; "gpu-worker": POST /v1/embed. */
    runs_at: z.enum(["edge", "gpu-worker"]),
    text_model: fileRefSchema.optional(),
    tokenizer: fileRefSchema.optional(),
  }),
  step_encoding: stepEncodingSchema,
  predictor: z.strictObject({
    kind: z.enum(["per-metric", "multi-head"]),
    /** per-metric: one file per metric; multi-head: the same file under every metric. */
    files: perMetric(fileRefSchema),
    input: z.string().default("features"),
    output: z.string().default("scores"),
    hidden: z.number().int().positive(),
    layers: z.number().int().positive(),
    opset: z.number().int().positive(),
  }),
  plateau: z.strictObject({
    weights: perMetric(z.number()),
    eps: perMetric(z.number().nonnegative()),
  }),
  /** Absent in bundles made before SPEC §3's revision, whose L-SNR head is noise_share. */
  metric_definitions: metricDefinitionsSchema.optional(),
  /** Absent: the edge serves predictor.files themselves. */
  edge_form: edgeFormSchema.optional(),
  allocation: allocationSchema.optional(),
  allocation_prices: allocationPricesSchema.optional(),
  /** The same table for each metric priced alone (weight 1 on it): `objective: "<metric>"`. */
  allocation_prices_by_metric: perMetric(allocationPricesSchema).optional(),
  training_data_hash: z.string().regex(/^[0-9a-f]{64}$/),
  evaluation: z.record(z.string(), z.unknown()).default({}),
});
export type BundleManifest = z.infer<typeof bundleManifestSchema>;

/** The L-SNR definition the bundle's head outputs ("noise_share" when the manifest predates it). */
export function lsnrDefinitionOf(manifest: BundleManifest): LsnrDefinition {
  return manifest.metric_definitions?.lsnr.definition ?? "noise_share";
}

function uniqueRefs(refs: (FileRef | undefined)[]): FileRef[] {
  const defined = refs.filter((ref): ref is FileRef => ref !== undefined);
  return [...new Map(defined.map((ref) => [ref.file, ref])).values()];
}

/** Every file the manifest references, deduplicated (multi-head bundles repeat one file). */
export function manifestFiles(manifest: BundleManifest): FileRef[] {
  return uniqueRefs([
    ...Object.values(manifest.predictor.files),
    manifest.edge_form?.file,
    manifest.edge_form?.probe,
    manifest.embedding.text_model,
    manifest.embedding.tokenizer,
  ]);
}

/**
 * The files the edge stores and loads: with an edge form, that form and its probe instead of the
 * teacher's predictor files (a paper-size teacher does not fit a Worker).
 */
export function edgeFiles(manifest: BundleManifest): FileRef[] {
  const { edge_form: form } = manifest;
  return uniqueRefs([
    ...(form === undefined ? Object.values(manifest.predictor.files) : [form.file, form.probe]),
    manifest.embedding.text_model,
    manifest.embedding.tokenizer,
  ]);
}
