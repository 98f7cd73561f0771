/**
 * Predictor training data from a run (SPEC §4, paper 3.3): prompt embeddings p̄ plus the step
 * encoding t̄ as features [n, 129, D], and dense targets [n, 129] per metric, linearly
 * interpolated from the seed-averaged measurements at T (pseudo-ground-truth).
 */
import { createHash } from "node:crypto";
import { DENSE_STEPS, interpolateDense } from "@budgetfusion/shared/grid/step-grid";
import {
  METRIC_NAMES,
  type MetricName,
  type StepEncoding,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import {
  defaultStepEncoding,
  predictorFeatures,
} from "@budgetfusion/shared/predictor/step-encoding";
import { asc } from "drizzle-orm";
import type { DatasetDb } from "../db/open-dataset-db";
import { images, prompts } from "../db/schema";
import type { MetricValues } from "../metrics/perceptual-metrics";
import type { PromptSet } from "../sampling/prompt-set";

export interface PromptRows {
  ids: number[];
  embeddings: Float32Array;
  targets: Record<MetricName, Float32Array>;
}

/** Prompts of `split` whose metrics are complete on the grid, with embeddings and dense targets. */
export function promptRows(
  set: PromptSet,
  measured: ReadonlyMap<number, ReadonlyMap<number, MetricValues>>,
  grid: readonly number[],
  split: "train" | "test",
): PromptRows {
  const rows = set.prompts.filter(
    (p) => p.split === split && grid.every((t) => measured.get(p.id)?.has(t)),
  );
  const width = set.width;
  const embeddings = new Float32Array(rows.length * width);
  const targets = Object.fromEntries(
    METRIC_NAMES.map((m) => [m, new Float32Array(rows.length * DENSE_STEPS)]),
  ) as Record<MetricName, Float32Array>;
  rows.forEach((p, i) => {
    embeddings.set(set.embeddings.subarray(p.id * width, (p.id + 1) * width), i * width);
    const perStep = measured.get(p.id) as ReadonlyMap<number, MetricValues>;
    for (const m of METRIC_NAMES) {
      targets[m].set(
        interpolateDense(
          grid.map((t) => (perStep.get(t) as MetricValues)[m]),
          grid,
          DENSE_STEPS,
        ),
        i * DENSE_STEPS,
      );
    }
  });
  return { ids: rows.map((p) => p.id), embeddings, targets };
}

/**
 * The training split's validation rows: every 10th training prompt when there are at least 10
 * (none otherwise). Early stopping and every hyper-parameter chosen after training (the allocate
 * mode's price) use these; the held-out test split is never used for either.
 */
export function validationSplit(n: number): { train: number[]; validation: number[] } {
  const all = Array.from({ length: n }, (_, i) => i);
  const validation = n >= 10 ? all.filter((i) => i % 10 === 9) : [];
  return { train: all.filter((i) => i % 10 !== 9 || n < 10), validation };
}

/** The rows `pick` of a PromptRows, in that order. */
export function selectRows(rows: PromptRows, pick: readonly number[], width: number): PromptRows {
  const embeddings = new Float32Array(pick.length * width);
  for (const [j, i] of pick.entries())
    embeddings.set(rows.embeddings.subarray(i * width, (i + 1) * width), j * width);
  const targets = Object.fromEntries(
    METRIC_NAMES.map((m) => {
      const out = new Float32Array(pick.length * DENSE_STEPS);
      for (const [j, i] of pick.entries())
        out.set(rows.targets[m].subarray(i * DENSE_STEPS, (i + 1) * DENSE_STEPS), j * DENSE_STEPS);
      return [m, out];
    }),
  ) as Record<MetricName, Float32Array>;
  return { ids: pick.map((i) => rows.ids[i]), embeddings, targets };
}

/** Features [n, 129, D]: p̄ + t̄_i, or p̄ alone for the "no step encoding" ablation. */
export function featuresFor(
  rows: PromptRows,
  width: number,
  withStepEncoding: boolean,
  encoding: StepEncoding = defaultStepEncoding(width),
): Float32Array {
  return predictorFeatures(
    rows.embeddings,
    rows.ids.length,
    DENSE_STEPS,
    encoding,
    withStepEncoding,
  );
}

/**
 * training_data_hash: sha256 over the dataset rows in key order, one line per prompt
 * ("p <id> <split> <text>") then one per image ("i <prompt_id> <steps> <seed> <png sha256>").
 */
export function trainingDataHash(db: DatasetDb): string {
  const h = createHash("sha256");
  for (const p of db.select().from(prompts).orderBy(asc(prompts.id)).all())
    h.update(`p ${p.id} ${p.split} ${p.text}\n`);
  for (const r of db
    .select()
    .from(images)
    .orderBy(asc(images.promptId), asc(images.steps), asc(images.seed))
    .all()) {
    h.update(`i ${r.promptId} ${r.steps} ${r.seed} ${r.sha256}\n`);
  }
  return h.digest("hex");
}
