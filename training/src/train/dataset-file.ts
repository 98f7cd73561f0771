/**
 * On-disk predictor dataset (written by the dataset pipeline, read by `npm run train`):
 * a JSON header plus raw little-endian float32 files next to it.
 *
 *   dataset.json = {
 *     "format": "budgetfusion-predictor-dataset", "version": 1,
 *     "steps": 129,            // T: dense steps per sequence
 *     "width": 768,            // D: input width (prompt embedding + step encoding)
 *     "metrics": ["lsnr", "dsim", "iclip"],  // target columns, 1 or 3 of METRIC_NAMES
 *     "splits": {
 *       "train": { "n": 1000, "inputs": "train-inputs.bin", "targets": "train-targets.bin" },
 *       "val":   { "n": 100,  "inputs": "val-inputs.bin",   "targets": "val-targets.bin" }
 *     }
 *   }
 *   inputs  = float32 [n, steps, width]   (the model input p̄ + t̄_i, SPEC §4 Eq. 6)
 *   targets = float32 [n, steps, metrics.length]  (dense metric curves in [0, 1])
 *
 * File names are relative to the JSON file; "val" is optional.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ShapeError, ValidationError } from "@budgetfusion/shared/errors";
import { METRIC_NAMES } from "@budgetfusion/shared/predictor/bundle-manifest";
import { z } from "zod";

const DATASET_FORMAT = "budgetfusion-predictor-dataset";

const splitSchema = z.object({
  n: z.number().int().positive(),
  inputs: z.string().min(1),
  targets: z.string().min(1),
});

const datasetHeaderSchema = z.object({
  format: z.literal(DATASET_FORMAT),
  version: z.literal(1),
  steps: z.number().int().positive(),
  width: z.number().int().positive(),
  metrics: z.array(z.enum(METRIC_NAMES)).min(1).max(3),
  splits: z.object({ train: splitSchema, val: splitSchema.optional() }),
});
export type DatasetHeader = z.infer<typeof datasetHeaderSchema>;

export interface DatasetSplit {
  n: number;
  inputs: Float32Array;
  targets: Float32Array;
}

export interface PredictorDataset {
  header: DatasetHeader;
  train: DatasetSplit;
  val: DatasetSplit | null;
}

function readF32(path: string, expected: number, field: string): Float32Array {
  const buf = readFileSync(path);
  if (buf.byteLength !== expected * 4)
    throw new ShapeError(
      `${field}: ${path} has ${buf.byteLength} bytes, expected ${expected * 4}`,
      { field },
    );
  const out = new Float32Array(expected);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

export function readPredictorDataset(jsonPath: string): PredictorDataset {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(jsonPath, "utf8"));
  } catch (cause) {
    throw new ValidationError(`dataset: cannot read ${jsonPath} as JSON`, {
      field: "dataset",
      cause,
    });
  }
  const r = datasetHeaderSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = `dataset.${issue.path.join(".")}`;
    throw new ValidationError(`${field}: ${issue.message}`, { field });
  }
  const h = r.data;
  const dir = dirname(jsonPath);
  const load = (name: "train" | "val", s: z.infer<typeof splitSchema>): DatasetSplit => ({
    n: s.n,
    inputs: readF32(join(dir, s.inputs), s.n * h.steps * h.width, `dataset.splits.${name}.inputs`),
    targets: readF32(
      join(dir, s.targets),
      s.n * h.steps * h.metrics.length,
      `dataset.splits.${name}.targets`,
    ),
  });
  return {
    header: h,
    train: load("train", h.splits.train),
    val: h.splits.val ? load("val", h.splits.val) : null,
  };
}

/** Writes dataset.json and its .bin files into `dir`; returns the JSON path. */
export function writePredictorDataset(
  dir: string,
  d: {
    steps: number;
    width: number;
    metrics: DatasetHeader["metrics"];
    train: DatasetSplit;
    val?: DatasetSplit | null;
  },
): string {
  const splits: Record<string, z.infer<typeof splitSchema>> = {};
  for (const [name, s] of Object.entries({ train: d.train, val: d.val ?? null })) {
    if (!s) continue;
    const e = { n: s.n, inputs: `${name}-inputs.bin`, targets: `${name}-targets.bin` };
    writeFileSync(
      join(dir, e.inputs),
      new Uint8Array(s.inputs.buffer, s.inputs.byteOffset, s.inputs.byteLength),
    );
    writeFileSync(
      join(dir, e.targets),
      new Uint8Array(s.targets.buffer, s.targets.byteOffset, s.targets.byteLength),
    );
    splits[name] = e;
  }
  const header = datasetHeaderSchema.parse({
    format: DATASET_FORMAT,
    version: 1,
    steps: d.steps,
    width: d.width,
    metrics: d.metrics,
    splits,
  });
  const path = join(dir, "dataset.json");
  writeFileSync(path, `${JSON.stringify(header, null, 2)}\n`);
  return path;
}
