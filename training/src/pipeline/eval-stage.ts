/**
 * Evaluate stage (SPEC §6; docs/training.md §5). Input: the exported models of the train stage,
 * the held-out prompts' measured curves, the generator and the metric models. Work: predicted
 * curves of every trained variant on the held-out prompts (run through onnxruntime from the
 * exported ONNX files, as serving does), compute cost from the SD model's ONNX graphs (or
 * --flops), and the generation run that gives both the measured quality at each condition's
 * exact step count and seconds per image, OURS vs REFERENCE (the paper's 65 steps), with one
 * generator in one run. The allocate mode's price is calibrated here, on the training split's
 * validation prompts (training-data.ts validationSplit), never on the held-out ones, and the
 * evaluation records it, and the same calibration for every integer mean-steps target (the
 * bundle's price table), for the bundle stage. Output: `<reports-dir>/<name>/evaluation.{json,md}`
 * and the SVG plots; summary: the report folder, its files and the relative quality.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { DENSE_REFERENCE_STEPS, PAPER_REFERENCE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import {
  type AllocationCalibration,
  type AllocationPriceTable,
  calibrateAllocation,
  calibrateAllocationTable,
  metricAlone,
} from "@budgetfusion/shared/plateau/allocate";
import {
  DEFAULT_PLATEAU,
  type PlateauParams,
  stepBudget,
} from "@budgetfusion/shared/plateau/step-budget";
import type { GalleryRow } from "@budgetfusion/shared/plot/svg-plot";
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
import { type AllocationDiagnosis, allocationDiagnosis } from "../eval/allocation-realised";
import { chooseAllocationWeights, type WeightChoice } from "../eval/allocation-weights";
import { knnBaseline, meanCurveBaseline } from "../eval/curve-baselines";
import {
  type ConditionPlan,
  evaluate,
  type GeneratedMetrics,
  isSpecCondition,
  plannedConditions,
  plannedSteps,
  spearman,
  type Variant,
} from "../eval/evaluate";
import { measureSdCost, type SdCost, sdCostSchema } from "../eval/sd-cost";
import { stat } from "../eval/stat";
import {
  type MetricModels,
  type MetricValues,
  metricsAgainstReference,
} from "../metrics/perceptual-metrics";
import { type ProgressSink, silentProgress } from "../progress/progress";
import { GALLERY_LABEL, isGalleryCondition } from "../report/gallery";
import { writeReport } from "../report/write-report";
import { generationSettings } from "./dataset-stage";
import { byMetric, type PipelineOptions } from "./pipeline-options";
import type { PipelineStage } from "./pipeline-run";
import { curvesPerPrompt, predictCurves } from "./predict-onnx";
import { checkTrainedStepEncoding, modelPath, readDeadZone, VARIANT_SPECS } from "./train-stage";
import { type PromptRows, selectRows, validationSplit } from "./training-data";

/** Neighbours of the k-NN reference predictor. */
const KNN_K = 5;
/** Held-out prompts (the first, in split order) whose seed-0 images the report shows. */
const GALLERY_PROMPTS = 8;

interface EvalStageOptions {
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
  /** The REFERENCE condition's step count: the paper's 65, not the dense reference t_N = 129. */
  paperReferenceSteps: number;
  /** The step encoding the predictors were trained with. */
  stepEncoding: StepEncoding;
  /**
   * The allocate mode's mean-steps target (default: mean OURS t* on validation) and weights
   * ("auto": chosen on the validation prompts, eval/allocation-weights.ts).
   */
  allocation: { targetMeanSteps?: number; weights: Record<MetricName, number> | "auto" };
  /** Counts the held-out prompts as their images are generated and measured. */
  progress?: ProgressSink;
  log?: (line: string) => void;
}

/** One variant's dense predicted curves for `rows`, per metric [n, 129]. */
function predictRows(
  o: EvalStageOptions,
  variant: string,
  rows: PromptRows,
): Promise<Record<MetricName, Float32Array>> {
  return predictCurves(
    o.ort,
    (m) => modelPath(o.runDir, variant, m),
    rows,
    o.width,
    VARIANT_SPECS[variant].stepEncoding,
    o.stepEncoding,
  );
}

function resolveWeights(
  given: Record<MetricName, number> | "auto",
  curves: readonly Record<MetricName, Float32Array>[],
  measured: readonly Record<MetricName, Float32Array>[],
  target: number,
): { weights: Record<MetricName, number>; choice?: WeightChoice } {
  if (given !== "auto") return { weights: given };
  const choice = chooseAllocationWeights(curves, measured, target);
  return { weights: choice.weights, choice };
}

/**
 * The full model on the validation prompts (training-data.ts validationSplit; never the held-out
 * ones): λ of the allocate mode for the operator's target or, by default, the mean OURS t* there
 * (so the two compare at equal mean steps), and how its t* ranks against the rule on those
 * prompts' measured curves (what validation-only choices such as --curve-envelope were made on).
 * Undefined when the training split has no validation prompts.
 */
async function onValidation(o: EvalStageOptions): Promise<
  | {
      calibration: AllocationCalibration;
      /** The same calibration for every integer mean-steps target (the bundle's price table). */
      priceTable: AllocationPriceTable;
      /** The same for each metric priced alone (the objective of that metric's own ceiling). */
      priceTablesByMetric: Record<MetricName, AllocationPriceTable>;
      tStar: { n: number; mean: number; oracle_mean: number; spearman_vs_oracle: number };
      allocation: AllocationDiagnosis & { weights_choice?: WeightChoice };
    }
  | undefined
> {
  const { validation } = validationSplit(o.train.ids.length);
  if (validation.length === 0) {
    o.log?.("allocate mode: no validation prompts, not calibrated");
    return undefined;
  }
  const rows = selectRows(o.train, validation, o.width);
  const rule = { weights: o.plateau.weights, eps: o.plateau.eps };
  const curves = curvesPerPrompt(await predictRows(o, "full", rows), rows.ids.length);
  const measured = curvesPerPrompt(rows.targets, rows.ids.length);
  const tStar = curves.map((c) => stepBudget(c, rule).steps);
  const tOracle = measured.map((c) => stepBudget(c, rule).steps);
  const target = o.allocation.targetMeanSteps ?? stat(tStar).mean;
  const { weights, choice } = resolveWeights(o.allocation.weights, curves, measured, target);
  if (choice)
    o.log?.(
      `allocate mode: weights ${METRIC_NAMES.map((m) => `${m} ${weights[m].toFixed(2)}`).join(", ")} chosen over ${choice.candidates} grid points (smallest share of a ceiling on validation ${choice.min_share.toFixed(3)})`,
    );
  const calibration = calibrateAllocation(curves, target, weights);
  o.log?.(
    `allocate mode: λ ${calibration.lambda.toExponential(4)} for ${target.toFixed(2)} mean steps on ${rows.ids.length} validation prompts (reached ${calibration.calibrated_mean_steps.toFixed(2)})`,
  );
  return {
    calibration,
    priceTable: calibrateAllocationTable(curves, weights),
    priceTablesByMetric: Object.fromEntries(
      METRIC_NAMES.map((m) => [m, calibrateAllocationTable(curves, metricAlone(m))]),
    ) as Record<MetricName, AllocationPriceTable>,
    allocation: {
      ...allocationDiagnosis(curves, measured, calibration),
      ...(choice ? { weights_choice: choice } : {}),
    },
    tStar: {
      n: rows.ids.length,
      mean: stat(tStar).mean,
      oracle_mean: stat(tOracle).mean,
      spearman_vs_oracle: spearman(tStar, tOracle),
    },
  };
}

async function runEvalStage(o: EvalStageOptions) {
  const predicted: Partial<Record<Variant, Record<MetricName, Float32Array>>> = {};
  for (const variant of o.variants)
    predicted[variant as Variant] = await predictRows(o, variant, o.test);
  const validation = await onValidation(o);
  const allocation = validation?.calibration;

  const timing: Record<string, number[]> = {};
  const gallery: GalleryRow[] = [];
  const progress = o.progress ?? silentProgress;
  const generated = async (plan: ConditionPlan) => {
    const out = new Map<number, GeneratedMetrics>();
    const conditions = plannedConditions(plan);
    progress.start(plan.promptIds.length, 0);
    for (const [i, promptId] of plan.promptIds.entries()) {
      const sums = Object.fromEntries(
        conditions.map((c) => [c, { lsnr: 0, dsim: 0, iclip: 0 }]),
      ) as GeneratedMetrics;
      for (let seed = 0; seed < o.seeds; seed++) {
        const ref = o.db
          .select()
          .from(images)
          .where(
            and(
              eq(images.promptId, promptId),
              eq(images.steps, DENSE_REFERENCE_STEPS),
              eq(images.seed, seed),
            ),
          )
          .get();
        if (!ref)
          throw new Error(
            `prompt ${promptId} seed ${seed} has no ${DENSE_REFERENCE_STEPS}-step reference image`,
          );
        const refPng = new Uint8Array(await readFile(join(o.runDir, ref.file)));
        // The allocate objectives' step counts mostly repeat one already generated for this
        // prompt and seed, and the generator is deterministic: those images and their metrics are
        // reused. SPEC §6's three conditions are always generated, so their timings stay whole.
        const pngs: Uint8Array[] = [];
        const byStep = new Map<number, number>();
        const slots: number[] = [];
        const cells: GalleryRow["cells"][number][] = [];
        for (const cond of conditions) {
          const steps = plannedSteps(plan, cond, i);
          let slot = isSpecCondition(cond) ? undefined : byStep.get(steps);
          if (slot === undefined) {
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
            const times = timing[cond] ?? [];
            times.push(res.ms / 1000);
            timing[cond] = times;
            slot = pngs.length;
            pngs.push(res.png);
            if (!byStep.has(steps)) byStep.set(steps, slot);
          }
          slots.push(slot);
          if (seed === 0 && i < GALLERY_PROMPTS && isGalleryCondition(cond))
            cells.push({ png: pngs[slot], caption: `${GALLERY_LABEL[cond]}: ${steps} steps` });
        }
        if (cells.length)
          gallery.push({ label: `${promptId}: ${o.texts.get(promptId) ?? ""}`, cells });
        const distinct = await metricsAgainstReference(o.metricModels, pngs, refPng);
        const values = slots.map((k) => distinct[k]);
        conditions.forEach((c, k) => {
          const sum = sums[c] as MetricValues;
          for (const m of METRIC_NAMES) sum[m] += values[k][m] / o.seeds;
        });
      }
      out.set(promptId, sums);
      progress.increment(1, `prompt ${promptId}: t* ${plan.ours[i]}, uniform ${plan.uniform}`);
    }
    progress.stop();
    return out;
  };

  const evaluation = await evaluate({
    promptIds: o.test.ids,
    measured: o.measured,
    stepGrid: o.stepGrid,
    predicted,
    baselines: {
      mean_curve: meanCurveBaseline(o.train, o.test.ids.length),
      [`knn${KNN_K}`]: knnBaseline(o.train, o.test, o.width, KNN_K),
    },
    cost: o.cost,
    plateau: o.plateau,
    paperReferenceSteps: o.paperReferenceSteps,
    ...(allocation
      ? {
          allocation,
          allocationValidation: validation.allocation,
          allocationPrices: validation.priceTable,
          allocationPricesByMetric: validation.priceTablesByMetric,
        }
      : {}),
    generated,
  });
  const ours = stat(timing.ours ?? []);
  const reference = stat(timing.reference ?? []);
  const time = {
    generator: o.generator.modelId,
    seconds_per_image: { ours, uniform: stat(timing.uniform ?? []), reference },
    saved_fraction: 1 - ours.mean / reference.mean,
  };
  const tStar = validation
    ? { ...evaluation.t_star, validation: validation.tStar }
    : evaluation.t_star;
  const deadZone = readDeadZone(o.runDir);
  return {
    evaluation: {
      ...evaluation,
      t_star: tStar,
      time,
      ...(deadZone ? { curve_dead_zone: deadZone } : {}),
    },
    predicted,
    gallery,
  };
}

/** The run's settings as the report records them. */
function reportSettings(o: PipelineOptions) {
  return {
    name: o.name,
    model: o.model ?? o.workers,
    clip: o.clip,
    dreamsim: o.dreamsim,
    prompts: o.prompts,
    max_prompts: o["max-prompts"],
    threshold: o.threshold,
    seeds: o.seeds,
    width: o.width,
    height: o.height,
    guidance: o.guidance,
    scheduler_overrides: o.scheduler,
    hidden: o.hidden,
    mlp: o.mlp,
    epochs: o.epochs,
    batch: o.batch,
    patience: o.patience,
    lr: o.lr,
    diff_weight: o["diff-weight"],
    tail_pad: o["tail-pad"],
    curve_output: o["curve-output"],
    curve_envelope: o["curve-envelope"],
    curve_dead_zone: o["curve-dead-zone"],
    ensemble: o.ensemble,
    allocate_steps: o["allocate-steps"] ?? "mean OURS t* on validation",
    allocate_weights: o["allocate-weights"],
    step_position: o["step-position"],
    step_norm: o["step-norm"],
    dropout: o.dropout,
    plateau: DEFAULT_PLATEAU,
  };
}

function weightsOption(
  w: PipelineOptions["allocate-weights"],
): Record<MetricName, number> | "auto" {
  return w === "auto" ? w : byMetric(w);
}

/** `<reports-dir>/<name>`, where the evaluate stage writes and the bundle stage reads. */
export function reportDirOf(o: PipelineOptions): string {
  return resolve(o["reports-dir"], o.name);
}

export const evaluateStage: PipelineStage = {
  name: "evaluate",
  async run(run) {
    const o = run.o;
    const stepEncoding = await run.stepEncoding();
    await checkTrainedStepEncoding(run.dir, stepEncoding);
    const cost: SdCost = o.flops
      ? sdCostSchema.parse(JSON.parse(await readFile(o.flops, "utf8")))
      : await measureSdCost(run.ort, o.model as string, {
          width: o.width,
          height: o.height,
          guidanceScale: o.guidance,
        });
    const texts = await run.texts();
    const { evaluation, predicted, gallery } = await runEvalStage({
      runDir: run.dir,
      db: run.db(),
      ort: run.ort,
      test: await run.promptRows("test"),
      train: await run.promptRows("train"),
      texts,
      width: (await run.promptSet()).width,
      variants: o.variants,
      measured: run.measured(),
      stepGrid: o.stepGrid,
      cost,
      plateau: DEFAULT_PLATEAU,
      generator: await run.generator(),
      metricModels: await run.metricModels(),
      seeds: o.seeds,
      generation: generationSettings(o),
      paperReferenceSteps: PAPER_REFERENCE_STEPS,
      stepEncoding,
      allocation: {
        targetMeanSteps: o["allocate-steps"],
        weights: weightsOption(o["allocate-weights"]),
      },
      progress: run.progress("evaluate", "prompts"),
      log: run.log,
    });
    const reportDir = reportDirOf(o);
    const files = await writeReport({
      dir: reportDir,
      model: o.name,
      evaluation,
      settings: reportSettings(o),
      predicted,
      measured: run.measured(),
      texts,
      stepGrid: o.stepGrid,
      cost,
      gallery,
      imageSize: o.width,
    });
    return { reportDir, files, relative_quality: evaluation.relative_quality };
  },
};
