/**
 * Evaluation stage (SPEC §6): predicted curves of every trained variant on the held-out prompts
 * (run through onnxruntime from the exported ONNX files, as serving does), compute cost from the
 * SD model's ONNX graphs, and the generation run that gives both the measured quality at each
 * condition's exact step count and seconds per image, OURS vs REFERENCE, with one generator in
 * one run.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DENSE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import type { PlateauParams } from "@budgetfusion/shared/plateau/step-budget";
import {
  METRIC_NAMES,
  type MetricName,
  type StepEncoding,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import type { OrtPort } from "@budgetfusion/shared/runtime/ort-port";
import { and, eq } from "drizzle-orm";
import { type Generator, noiseSeed } from "../dataset/generator";
import type { DatasetDb } from "../db/open-dataset-db";
import { images } from "../db/schema";
import { knnBaseline, meanCurveBaseline } from "../eval/curve-baselines";
import {
  CONDITIONS,
  type Condition,
  type ConditionPlan,
  evaluate,
  stat,
  type Variant,
} from "../eval/evaluate";
import type { SdCost } from "../eval/sd-cost";
import {
  type MetricModels,
  type MetricValues,
  metricsAgainstReference,
} from "../metrics/perceptual-metrics";
import { modelPath, VARIANT_SPECS } from "./train-stage";
import { featuresFor, type PromptRows } from "./training-data";

/** Neighbours of the k-NN reference predictor. */
const KNN_K = 5;

export interface EvalStageOptions {
  runDir: string;
  db: DatasetDb;
  ort: OrtPort;
  test: PromptRows;
  /** Training prompts, for the reference predictors of Table 1 (curve-baselines.ts). */
  train: PromptRows;
  texts: ReadonlyMap<number, string>;
  width: number;
  variants: readonly string[];
  measured: ReadonlyMap<number, ReadonlyMap<number, MetricValues>>;
  stepGrid: readonly number[];
  cost: SdCost;
  plateau: PlateauParams;
  generator: Generator;
  metricModels: MetricModels;
  seeds: number;
  generation: {
    guidanceScale: number;
    width: number;
    height: number;
    negativePrompt?: string;
    scheduler?: Record<string, unknown>;
  };
  referenceSteps: number;
  /** The step encoding the predictors were trained with. */
  stepEncoding: StepEncoding;
  log?: (line: string) => void;
}

/** Runs one exported predictor on features [n, 129, D] -> scores [n, 129]. */
async function predictOnnx(
  ort: OrtPort,
  path: string,
  features: Float32Array,
  n: number,
  width: number,
): Promise<Float32Array> {
  const session = await ort.createSession(new Uint8Array(await readFile(path)));
  try {
    const out = await session.run(
      { features: { type: "float32", data: features, dims: [n, DENSE_STEPS, width] } },
      ["scores"],
    );
    return out.scores.data as Float32Array;
  } finally {
    await session.release();
  }
}

export async function runEvalStage(o: EvalStageOptions) {
  const n = o.test.ids.length;
  const predicted: Partial<Record<Variant, Record<MetricName, Float32Array>>> = {};
  for (const variant of o.variants) {
    const features = featuresFor(
      o.test,
      o.width,
      VARIANT_SPECS[variant].stepEncoding,
      o.stepEncoding,
    );
    const perMetric = {} as Record<MetricName, Float32Array>;
    for (const m of METRIC_NAMES)
      perMetric[m] = await predictOnnx(
        o.ort,
        modelPath(o.runDir, variant, m),
        features,
        n,
        o.width,
      );
    predicted[variant as Variant] = perMetric;
  }

  const timing: Record<Condition, number[]> = { ours: [], uniform: [], reference: [] };
  const generated = async (plan: ConditionPlan) => {
    const out = new Map<number, Record<Condition, MetricValues>>();
    for (const [i, promptId] of plan.promptIds.entries()) {
      const sums = Object.fromEntries(
        CONDITIONS.map((c) => [c, { lsnr: 0, dsim: 0, iclip: 0 }]),
      ) as Record<Condition, MetricValues>;
      for (let seed = 0; seed < o.seeds; seed++) {
        const ref = o.db
          .select()
          .from(images)
          .where(and(eq(images.promptId, promptId), eq(images.steps, 129), eq(images.seed, seed)))
          .get();
        if (!ref) throw new Error(`prompt ${promptId} seed ${seed} has no 129-step image`);
        const refPng = new Uint8Array(await readFile(join(o.runDir, ref.file)));
        const pngs: Uint8Array[] = [];
        for (const cond of CONDITIONS) {
          const steps =
            cond === "ours" ? plan.ours[i] : cond === "uniform" ? plan.uniform : plan.reference;
          const res = await o.generator.generate({
            prompt: o.texts.get(promptId) ?? "",
            negativePrompt: o.generation.negativePrompt,
            steps,
            seed: noiseSeed(promptId, seed),
            guidanceScale: o.generation.guidanceScale,
            width: o.generation.width,
            height: o.generation.height,
            scheduler: o.generation.scheduler,
          });
          timing[cond].push(res.ms / 1000);
          pngs.push(res.png);
        }
        const values = await metricsAgainstReference(o.metricModels, pngs, refPng);
        CONDITIONS.forEach((c, k) => {
          for (const m of METRIC_NAMES) sums[c][m] += values[k][m] / o.seeds;
        });
      }
      out.set(promptId, sums);
      o.log?.(`evaluated prompt ${promptId}: t* ${plan.ours[i]}, uniform ${plan.uniform}`);
    }
    return out;
  };

  const evaluation = await evaluate({
    promptIds: o.test.ids,
    measured: o.measured,
    stepGrid: o.stepGrid,
    predicted,
    baselines: {
      mean_curve: meanCurveBaseline(o.train, n),
      [`knn${KNN_K}`]: knnBaseline(o.train, o.test, o.width, KNN_K),
    },
    cost: o.cost,
    plateau: o.plateau,
    referenceSteps: o.referenceSteps,
    generated,
  });
  const ours = stat(timing.ours);
  const reference = stat(timing.reference);
  const time = {
    generator: o.generator.modelId,
    seconds_per_image: { ours, uniform: stat(timing.uniform), reference },
    saved_fraction: 1 - ours.mean / reference.mean,
  };
  return { evaluation: { ...evaluation, time }, predicted };
}
