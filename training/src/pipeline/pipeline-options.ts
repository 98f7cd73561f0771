/**
 * Options of `npm run pipeline` (the whole chain of SPEC §1-§6: sampling, dataset, metrics,
 * training, export, evaluation, bundle), validated with zod at the CLI boundary. `--smoke`
 * presets a tiny run on the fixture models, found only through an explicit `--fixtures DIR`.
 */
import { basename, join, resolve } from "node:path";
import { ValidationError } from "@budgetfusion/shared/errors";
import { STEP_GRID } from "@budgetfusion/shared/grid/step-grid";
import { MODEL_DIRS } from "@budgetfusion/world/model-files";
import { RECOMMENDED_GUIDANCE } from "@budgetfusion/world/world-config";
import { z } from "zod";

const csvNumbers = z
  .string()
  .transform((s) => s.split(",").map((v) => Number(v.trim())))
  .pipe(z.array(z.number().int().positive()).min(1));

export const pipelineArgsSchema = z.object({
  smoke: z.boolean().default(false),
  fixtures: z.string().optional(),
  /** The mini-world preset (docs/mini-world.md); needs --data, the shared data folder. */
  "mini-world": z.boolean().default(false),
  data: z.string().optional(),
  model: z.string().optional(),
  workers: z.string().optional(),
  "worker-token": z.string().optional(),
  clip: z.string().optional(),
  dreamsim: z.string().optional(),
  prompts: z.string().optional(),
  column: z.string().default("caption"),
  "max-prompts": z.coerce.number().int().positive().optional(),
  "max-candidates": z.coerce.number().int().positive().optional(),
  threshold: z.coerce.number().gt(-1).max(1).default(0.75),
  order: z.enum(["shuffle", "file"]).default("shuffle"),
  seed: z.coerce.number().int().nonnegative().default(0),
  out: z.string().optional(),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
    .optional(),
  seeds: z.coerce.number().int().min(1).max(64).default(4),
  width: z.coerce.number().int().positive().optional(),
  height: z.coerce.number().int().positive().optional(),
  guidance: z.coerce.number().min(0).max(30).default(7.5),
  "negative-prompt": z.string().optional(),
  /** JSON object merged over scheduler_config.json, e.g. '{"timestep_spacing":"trailing"}'. */
  scheduler: z.string().optional(),
  concurrency: z.coerce.number().int().min(1).max(256).default(1),
  hidden: z.coerce.number().int().positive().default(64),
  mlp: z.coerce.number().int().positive().default(64),
  /** Epochs for L-SNR, D-SIM, I-CLIP (paper 25,25,50). */
  epochs: csvNumbers.default([25, 25, 50]),
  batch: z.coerce.number().int().positive().default(32),
  /** Early stopping: epochs without a better validation loss. */
  patience: z.coerce.number().int().min(1).default(5),
  lr: z.coerce.number().positive().default(1e-4),
  /** Weight of the first-difference loss term (training/src/model/curve-loss.ts); 0 = paper. */
  "diff-weight": z.coerce.number().min(0).default(0),
  /** BiLSTM tail padding (training/src/model/config.ts tailPad); 0 = paper. */
  "tail-pad": z.coerce.number().int().min(0).max(256).default(0),
  /** Position the step encoding encodes (shared/src/predictor/step-encoding.ts). */
  "step-position": z.enum(["step", "log_step"]).default("step"),
  /** L2 norm of the step encoding t̄ relative to the unit prompt embedding p̄. */
  "step-norm": z.coerce.number().positive().max(10).default(1),
  /** Dropout on the LSTM output during training (the paper gives no value). */
  dropout: z.coerce.number().min(0).max(0.95).default(0.1),
  threads: z.coerce.number().int().min(1).max(64).default(2),
  variants: z.string().default("full,no_step_encoding,mlp_tanh"),
  "reports-dir": z.string().default("reports"),
  "bundles-dir": z.string().default("artifacts/bundles"),
  version: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
    .optional(),
  /** JSON file with {textFlops, unetStepFlops, vaeFlops, ...} when the model cannot be run here. */
  flops: z.string().optional(),
  /** Stop after this stage (sample, dataset, metrics, train, evaluate, bundle). */
  until: z.enum(["sample", "dataset", "metrics", "train", "evaluate", "bundle"]).default("bundle"),
});
export type PipelineArgs = z.output<typeof pipelineArgsSchema>;

export interface PipelineOptions extends Omit<PipelineArgs, "scheduler" | "variants"> {
  name: string;
  out: string;
  clip: string;
  dreamsim: string;
  prompts: string;
  width: number;
  height: number;
  scheduler: Record<string, unknown>;
  variants: string[];
  stepGrid: readonly number[];
}

/** The smoke preset: tiny and fast enough for CI on 2 cores (a few minutes end to end). */
export const SMOKE_PRESET = {
  "max-prompts": 6,
  "max-candidates": 3000,
  seeds: 2,
  width: 64,
  height: 64,
  guidance: 7.5,
  hidden: 8,
  mlp: 8,
  epochs: [30, 30, 30],
  batch: 4,
  lr: 1e-2,
  threads: 1,
} as const;

/**
 * The mini-world preset: the committed reports/mini-world run (docs/training.md §8). Model
 * folders are the ones `npm run world:build` writes; prompts are COCO, PartiPrompts and the
 * T2I-CompBench categories, deduplicated and filtered together.
 */
export const MINI_WORLD_PRESET = {
  "max-prompts": 400,
  seeds: 4,
  width: 128,
  height: 128,
  guidance: RECOMMENDED_GUIDANCE,
  hidden: 32,
  mlp: 32,
  epochs: [100, 100, 100],
  patience: 30,
  lr: 3e-3,
  batch: 16,
  threads: 2,
  "tail-pad": 16,
  "diff-weight": 100,
  "step-position": "log_step",
} as const;

const MINI_WORLD_PROMPTS = [
  "coco/coco_val2017_captions.txt",
  "parti/partiprompts.txt",
  ...[
    "3d_spatial",
    "color",
    "complex",
    "non_spatial",
    "numeracy",
    "shape",
    "spatial",
    "texture",
  ].map((c) => `t2i_compbench/${c}_val.txt`),
];

function applyPreset(a: PipelineArgs, preset: object, explicit: ReadonlySet<string>): void {
  for (const [k, v] of Object.entries(preset)) {
    if (!explicit.has(k)) (a as Record<string, unknown>)[k] = v;
  }
}

/** Applies the smoke or mini-world preset under explicit flags and fills the derived defaults. */
export function resolvePipelineOptions(
  args: PipelineArgs,
  explicit: ReadonlySet<string>,
): PipelineOptions {
  const a: PipelineArgs = { ...args };
  if (a.smoke) {
    if (!a.fixtures) {
      throw new ValidationError("--smoke needs --fixtures DIR (the shared fixtures folder)", {
        field: "--fixtures",
      });
    }
    const fx = resolve(a.fixtures);
    applyPreset(a, SMOKE_PRESET, explicit);
    a.model ??= join(fx, "tiny-sd2");
    a.clip ??= join(fx, "tiny-clip");
    a.prompts ??= join(fx, "..", "data", "prompts", "coco", "coco_val2017_captions.txt");
    a.name ??= "smoke";
  }
  if (a["mini-world"]) {
    if (!a.data) {
      throw new ValidationError("--mini-world needs --data DIR (the shared data folder)", {
        field: "--data",
      });
    }
    const data = resolve(a.data);
    applyPreset(a, MINI_WORLD_PRESET, explicit);
    // Where `npm run world:build` writes them, relative as the committed run recorded them.
    a.model ??= join("artifacts", "models", MODEL_DIRS.diffusion);
    a.clip ??= join("artifacts", "models", MODEL_DIRS.clip);
    a.dreamsim ??= join("artifacts", "models", MODEL_DIRS.dreamsim);
    a.prompts ??= MINI_WORLD_PROMPTS.map((f) => join(data, "prompts", f)).join(",");
    a.name ??= "mini-world";
  }
  for (const flag of ["clip", "prompts"] as const) {
    if (!a[flag]) throw new ValidationError(`--${flag} is required`, { field: `--${flag}` });
  }
  if (!a.model && !a.workers) {
    throw new ValidationError("--model DIR (in-process) or --workers URL[,URL] is required", {
      field: "--model",
    });
  }
  let scheduler: Record<string, unknown> = {};
  if (a.scheduler) {
    try {
      scheduler = z.record(z.string(), z.unknown()).parse(JSON.parse(a.scheduler));
    } catch (cause) {
      throw new ValidationError("--scheduler must be a JSON object", {
        field: "--scheduler",
        cause,
      });
    }
  }
  const name = a.name ?? (a.model ? basename(resolve(a.model)) : "run");
  const variants = a.variants.split(",").map((v) => v.trim());
  for (const v of variants) {
    if (!["full", "no_step_encoding", "mlp_tanh"].includes(v)) {
      throw new ValidationError(`--variants: unknown variant ${v}`, { field: "--variants" });
    }
  }
  if (!variants.includes("full"))
    throw new ValidationError("--variants must include full", { field: "--variants" });
  if (a.epochs.length !== 3)
    throw new ValidationError("--epochs needs three values (L-SNR,D-SIM,I-CLIP)", {
      field: "--epochs",
    });
  return {
    ...a,
    name,
    out: a.out ?? join("runs", name),
    clip: a.clip as string,
    dreamsim: a.dreamsim ?? (a.clip as string),
    prompts: a.prompts as string,
    width: a.width ?? 512,
    height: a.height ?? 512,
    scheduler,
    variants,
    stepGrid: STEP_GRID,
  };
}
