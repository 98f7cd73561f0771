/**
 * The predictor bundle manifest: everything serving needs to reproduce training's view of the
 * world (SPEC §1, §4, §5). Training writes it (artifacts/bundles/<version>/manifest.json), the
 * edge verifies and reads it; nothing about a predictor is hard-coded in serving. Every object
 * is strict: a key the schema does not know is refused, naming it, rather than silently ignored
 * (a misspelt setting would otherwise take its default). `evaluation` is free-form.
 */
import { z } from "zod";

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
  training_data_hash: z.string().regex(/^[0-9a-f]{64}$/),
  evaluation: z.record(z.string(), z.unknown()).default({}),
});
export type BundleManifest = z.infer<typeof bundleManifestSchema>;

/** Every file the manifest references, deduplicated (multi-head bundles repeat one file). */
export function manifestFiles(manifest: BundleManifest): FileRef[] {
  const refs = [
    ...Object.values(manifest.predictor.files),
    manifest.embedding.text_model,
    manifest.embedding.tokenizer,
  ].filter((ref): ref is FileRef => ref !== undefined);
  return [...new Map(refs.map((ref) => [ref.file, ref])).values()];
}
