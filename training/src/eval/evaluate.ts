/**
 * Evaluation on the held-out prompts (SPEC §6, paper Sec. 4): Table 1 (MAE of predicted vs
 * measured curves for three model variants), t* per prompt with and without the eps floor
 * (SPEC §5), Table 2 (quality per TFLOP for OURS, UNIFORM and REFERENCE), relative quality
 * (Eq. 9), compute savings against fixed step defaults, and the allocation ceiling
 * (allocation-ceiling.ts: the most any allocation of the same mean steps could gain), and,
 * given a calibration, the allocate mode (shared/src/plateau/allocate.ts) against UNIFORM at its
 * own mean steps, with the share of that ceiling it realises.
 *
 * Measured quality at the conditions' step counts comes from images generated at exactly those
 * step counts (every dataset seed, metrics against the dataset's I(p, 129, s)) when the caller
 * supplies them (`generated`), which is what the top-level `relative_quality` then reports; the
 * same numbers read off the dense linear interpolation of the measured curves (SPEC §1
 * pseudo-ground-truth) are always reported too, under `interpolated`.
 * q per metric: 1 - L-SNR, 1 - D-SIM, I-CLIP (paper Table 2); with L-SNR = S/(S+N) (SPEC §3
 * revised) 1 - L-SNR is the share of detail energy, which rises as detail forms. Eq. 9 skips a prompt whose
 * UNIFORM quality is 0 (ratio undefined) and reports how many were skipped.
 */
import {
  DENSE_STEPS,
  interpolateDense,
  PAPER_REFERENCE_STEPS,
} from "@budgetfusion/shared/grid/step-grid";
import { metricQuality } from "@budgetfusion/shared/metrics/metric-quality";
import {
  type AllocationCalibration,
  type AllocationPriceTable,
  allocateSteps,
} from "@budgetfusion/shared/plateau/allocate";
import { type PlateauParams, stepBudget } from "@budgetfusion/shared/plateau/step-budget";
import { METRIC_NAMES, type MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";
import { sampleRankCorrelation } from "simple-statistics";
import type { MetricValues } from "../metrics/perceptual-metrics";
import { allocationCeiling } from "./allocation-ceiling";
import type { AllocationDiagnosis } from "./allocation-realised";
import { generationTflops, type SdCost } from "./sd-cost";
import { relativeQuality, type Stat, stat } from "./stat";

const VARIANTS = ["full", "no_step_encoding", "mlp_tanh"] as const;
export type Variant = (typeof VARIANTS)[number];

export interface EvalInput {
  promptIds: readonly number[];
  /** Measured seed-averaged metrics at the sampled steps, per prompt. */
  measured: ReadonlyMap<number, ReadonlyMap<number, MetricValues>>;
  stepGrid: readonly number[];
  /** Predicted dense curves per variant and metric, `[promptIds.length, 129]`. */
  predicted: Partial<Record<Variant, Record<MetricName, Float32Array>>>;
  /** Reference predictors' curves, same layout (curve-baselines.ts), reported beside Table 1. */
  baselines?: Record<string, Record<MetricName, Float32Array>>;
  cost: SdCost;
  plateau: PlateauParams;
  /**
   * The REFERENCE condition's step count: the paper's 65 (PAPER_REFERENCE_STEPS), not the dense
   * reference t_N = 129 the metrics are measured against.
   */
  paperReferenceSteps?: number;
  defaults?: readonly number[];
  /** The allocate mode on the validation prompts (allocation-realised.ts), recorded with it. */
  allocationValidation?: AllocationDiagnosis;
  /** The allocate mode's calibration (on validation prompts); absent = no allocation_mode. */
  allocation?: AllocationCalibration;
  /** The same calibration for every integer mean-steps target (the bundle's price table). */
  allocationPrices?: AllocationPriceTable;
  /**
   * Seed-averaged metrics of images generated at each planned condition's step count per prompt
   * (t*_OURS, t_UNIFORM, REFERENCE, and the allocate mode's two when planned).
   * Called once t* and the uniform step count are known.
   */
  generated?: (plan: ConditionPlan) => Promise<ReadonlyMap<number, GeneratedMetrics>>;
}

const CONDITIONS = ["ours", "uniform", "reference"] as const;
export type Condition = (typeof CONDITIONS)[number];
/** The allocate mode's t(p) and UNIFORM at its mean steps. */
const ALLOCATION_CONDITIONS = ["allocate", "allocate_uniform"] as const;
export type AllocationCondition = (typeof ALLOCATION_CONDITIONS)[number];
export type GeneratedMetrics = Record<Condition, MetricValues> &
  Partial<Record<AllocationCondition, MetricValues>>;

/** Step counts per prompt for the three conditions of SPEC §6 (and the allocate mode's). */
export interface ConditionPlan {
  promptIds: readonly number[];
  ours: readonly number[];
  uniform: number;
  /** The paper's REFERENCE step count (65). */
  reference: number;
  allocate?: { steps: readonly number[]; uniform: number };
}

/** The conditions a plan asks images for. */
export function plannedConditions(plan: ConditionPlan): (Condition | AllocationCondition)[] {
  return plan.allocate ? [...CONDITIONS, ...ALLOCATION_CONDITIONS] : [...CONDITIONS];
}

/** The step count of prompt i under a planned condition. */
export function plannedSteps(
  plan: ConditionPlan,
  cond: Condition | AllocationCondition,
  i: number,
): number {
  if (cond === "ours") return plan.ours[i];
  if (cond === "uniform") return plan.uniform;
  if (cond === "reference") return plan.reference;
  if (!plan.allocate) throw new Error(`the plan has no allocate mode (${cond})`);
  return cond === "allocate" ? plan.allocate.steps[i] : plan.allocate.uniform;
}

/** q_m(v): the "higher is better" quality of a metric value. */
export const quality = metricQuality;

/** Dense measured curve (index t - 1) of one prompt and metric. */
export function measuredDense(
  perStep: ReadonlyMap<number, MetricValues>,
  grid: readonly number[],
  metric: MetricName,
): Float64Array {
  const values = grid.map((t) => {
    const v = perStep.get(t);
    if (!v) throw new Error(`measured metrics lack step ${t}`);
    return v[metric];
  });
  return interpolateDense(values, grid, DENSE_STEPS);
}

function row(curves: Float32Array, i: number): Float32Array {
  return curves.subarray(i * DENSE_STEPS, (i + 1) * DENSE_STEPS);
}

/** Table 2, qualities and Eq. 9 from one way of reading q at each condition's step count. */
function qualityBlock(
  n: number,
  stepsOf: (cond: Condition, i: number) => number,
  eta: (t: number) => number,
  q: (i: number, m: MetricName, cond: Condition) => number,
) {
  const idx = Array.from({ length: n }, (_, i) => i);
  const perCondition = <T>(f: (cond: Condition, m: MetricName) => T) =>
    Object.fromEntries(
      CONDITIONS.map((c) => [c, Object.fromEntries(METRIC_NAMES.map((m) => [m, f(c, m)]))]),
    ) as Record<Condition, Record<MetricName, T>>;
  const table2 = perCondition((c, m) => stat(idx.map((i) => q(i, m, c) / eta(stepsOf(c, i)))));
  const qualityAt = perCondition((c, m) => stat(idx.map((i) => q(i, m, c))));
  const relative = {} as Record<MetricName, Stat & { skipped: number }>;
  for (const m of METRIC_NAMES)
    relative[m] = relativeQuality(n, (i, w) => q(i, m, w === "a" ? "ours" : "uniform"));
  return { table2_quality_per_tflop: table2, quality: qualityAt, relative_quality: relative };
}

function tStarSummary(ts: number[]) {
  return {
    ...stat(ts),
    median: [...ts].sort((a, b) => a - b)[Math.floor((ts.length - 1) / 2)],
    min: Math.min(...ts),
    max: Math.max(...ts),
  };
}

/** A ceiling below this is rounding noise of a linear curve: nothing to realise. */
const ZERO_CEILING = 1e-12;

/** Per metric, an Eq. 9 gain as a share of the allocation ceiling (NaN when the ceiling is 0). */
function fractionOf(
  relative: Record<MetricName, Stat>,
  ceiling: Record<MetricName, { relative_quality: number }>,
): Record<MetricName, number> {
  return Object.fromEntries(
    METRIC_NAMES.map((m) => [
      m,
      ceiling[m].relative_quality > ZERO_CEILING
        ? relative[m].mean / ceiling[m].relative_quality
        : Number.NaN,
    ]),
  ) as Record<MetricName, number>;
}

/** Spearman's rank correlation (average ranks on ties); NaN when either side is constant. */
export function spearman(a: number[], b: number[]): number {
  const constant = (x: number[]) => x.every((v) => v === x[0]);
  return a.length < 2 || constant(a) || constant(b) ? Number.NaN : sampleRankCorrelation(a, b);
}

export async function evaluate(input: EvalInput) {
  const paperReferenceSteps = input.paperReferenceSteps ?? PAPER_REFERENCE_STEPS;
  const ids = input.promptIds;
  const dense = ids.map((id) => {
    const perStep = input.measured.get(id);
    if (!perStep) throw new Error(`no measured metrics for prompt ${id}`);
    return Object.fromEntries(
      METRIC_NAMES.map((m) => [m, measuredDense(perStep, input.stepGrid, m)]),
    ) as Record<MetricName, Float64Array>;
  });

  // Table 1: MAE over prompts and the dense grid, and at the sampled steps only.
  const maeOf = (pred: Record<MetricName, Float32Array>) => {
    const dense1 = {} as Record<MetricName, number>;
    const sampled = {} as Record<MetricName, number>;
    for (const m of METRIC_NAMES) {
      let sd = 0;
      let ss = 0;
      ids.forEach((_, i) => {
        const p = row(pred[m], i);
        for (let t = 0; t < DENSE_STEPS; t++) sd += Math.abs(p[t] - dense[i][m][t]);
        for (const t of input.stepGrid) ss += Math.abs(p[t - 1] - dense[i][m][t - 1]);
      });
      dense1[m] = sd / (ids.length * DENSE_STEPS);
      sampled[m] = ss / (ids.length * input.stepGrid.length);
    }
    return { dense: dense1, sampled };
  };
  const table1: Partial<Record<Variant, Record<MetricName, number>>> = {};
  const table1Sampled: Partial<Record<Variant, Record<MetricName, number>>> = {};
  for (const v of VARIANTS) {
    const pred = input.predicted[v];
    if (!pred) continue;
    const mae = maeOf(pred);
    table1[v] = mae.dense;
    table1Sampled[v] = mae.sampled;
  }
  const table1Baselines = Object.fromEntries(
    Object.entries(input.baselines ?? {}).map(([name, pred]) => [name, maeOf(pred).dense]),
  );

  // t* from the full model's predicted curves, with and without the eps floor.
  const full = input.predicted.full;
  if (!full) throw new Error("the full model's predictions are required");
  const fullCurves = (i: number) =>
    Object.fromEntries(METRIC_NAMES.map((m) => [m, row(full[m], i)])) as Record<
      MetricName,
      Float32Array
    >;
  const budgets = ids.map((_, i) => {
    const curves = fullCurves(i);
    return {
      withFloor: stepBudget(curves, { weights: input.plateau.weights, eps: input.plateau.eps }),
      withoutFloor: stepBudget(curves, { weights: input.plateau.weights, eps: 0 }),
    };
  });
  const tOurs = budgets.map((b) => b.withFloor.steps);
  const tUniform = Math.max(1, Math.round(stat(tOurs).mean));

  const eta = (t: number) => generationTflops(input.cost, t);
  const calibration = input.allocation;
  const tAllocate = calibration ? ids.map((_, i) => allocateSteps(fullCurves(i), calibration)) : [];
  const plan: ConditionPlan = {
    promptIds: ids,
    ours: tOurs,
    uniform: tUniform,
    reference: paperReferenceSteps,
    ...(calibration
      ? {
          allocate: {
            steps: tAllocate,
            uniform: Math.max(1, Math.round(stat(tAllocate).mean)),
          },
        }
      : {}),
  };
  const stepsOf = (cond: Condition, i: number) => plannedSteps(plan, cond, i);
  const interpolated = qualityBlock(ids.length, stepsOf, eta, (i, m, cond) =>
    quality(m, dense[i][m][stepsOf(cond, i) - 1]),
  );
  let generatedBlock: ReturnType<typeof qualityBlock> | undefined;
  let gen: ReadonlyMap<number, GeneratedMetrics> | undefined;
  if (input.generated) {
    gen = await input.generated(plan);
    generatedBlock = qualityBlock(ids.length, stepsOf, eta, (i, m, cond) => {
      const v = gen?.get(ids[i])?.[cond];
      if (!v) throw new Error(`no generated metrics for prompt ${ids[i]} (${cond})`);
      return quality(m, v[m]);
    });
  }
  const generatedQuality = (i: number, m: MetricName, cond: Condition | AllocationCondition) => {
    const v = gen?.get(ids[i])?.[cond];
    if (!v) throw new Error(`no generated metrics for prompt ${ids[i]} (${cond})`);
    return quality(m, v[m]);
  };
  const primary = generatedBlock ?? interpolated;

  // Oracle: the same rule on the *measured* dense curves, i.e. the t* a perfect predictor would
  // give; with its own UNIFORM count, quality read off the interpolated curves. It separates
  // predictor error from what the plateau rule itself achieves on this model.
  const tOracle = ids.map(
    (_, i) =>
      stepBudget(dense[i], { weights: input.plateau.weights, eps: input.plateau.eps }).steps,
  );
  const tOracleUniform = Math.max(1, Math.round(stat(tOracle).mean));
  const oracleStepsOf = (cond: Condition, i: number) =>
    cond === "ours" ? tOracle[i] : cond === "uniform" ? tOracleUniform : paperReferenceSteps;
  const oracle = {
    uniform_steps: tOracleUniform,
    ...qualityBlock(ids.length, oracleStepsOf, eta, (i, m, cond) =>
      quality(m, dense[i][m][oracleStepsOf(cond, i) - 1]),
    ),
  };

  // The best any allocation of the same mean steps achieves on the measured curves, per metric.
  const ceilingAt = (uniform: number) =>
    Object.fromEntries(
      METRIC_NAMES.map((m) => {
        const c = allocationCeiling(
          dense.map((d) => d[m].map((v) => quality(m, v))),
          uniform,
        );
        return [m, { relative_quality: c.relative_quality, steps: c.steps }];
      }),
    ) as Record<MetricName, { relative_quality: number; steps: number[] }>;
  const ceiling = ceilingAt(tUniform);
  const allocationCeilingBlock = {
    uniform_steps: tUniform,
    per_metric: ceiling,
    /** OURS' Eq. 9 gain as a share of the ceiling at its UNIFORM count. */
    fraction_realised: fractionOf(primary.relative_quality, ceiling),
    oracle_uniform_steps: tOracleUniform,
    oracle_per_metric: ceilingAt(tOracleUniform),
  };

  // The allocate mode: t(p) from the full model's curves at the validation-calibrated price,
  // against UNIFORM at its own mean steps (the comparison its ceiling is defined for).
  const allocationModeOf = (
    calibration: AllocationCalibration,
    { uniform }: NonNullable<ConditionPlan["allocate"]>,
  ) => {
    const relativeBy = (q: (i: number, m: MetricName, c: AllocationCondition) => number) =>
      Object.fromEntries(
        METRIC_NAMES.map((m) => [
          m,
          relativeQuality(ids.length, (i, w) =>
            q(i, m, w === "a" ? "allocate" : "allocate_uniform"),
          ),
        ]),
      ) as Record<MetricName, Stat & { skipped: number }>;
    const allocStepsOf = (c: AllocationCondition, i: number) => plannedSteps(plan, c, i);
    const interpolatedRelative = relativeBy((i, m, c) =>
      quality(m, dense[i][m][allocStepsOf(c, i) - 1]),
    );
    const relative = gen ? relativeBy(generatedQuality) : interpolatedRelative;
    const allocCeiling = ceilingAt(uniform);
    return {
      calibration,
      mean_steps: stat(tAllocate).mean,
      steps: tStarSummary(tAllocate),
      uniform_steps: uniform,
      ours_mean_steps: stat(tOurs).mean,
      relative_quality: relative,
      interpolated_relative_quality: interpolatedRelative,
      ceiling: Object.fromEntries(METRIC_NAMES.map((m) => [m, allocCeiling[m].relative_quality])),
      fraction_realised: fractionOf(relative, allocCeiling),
      ...(input.allocationValidation ? { validation: input.allocationValidation } : {}),
      ...(input.allocationPrices ? { price_table: input.allocationPrices } : {}),
      per_prompt: ids.map((id, i) => ({ prompt_id: id, steps: tAllocate[i] })),
    };
  };
  const allocationMode =
    calibration && plan.allocate ? allocationModeOf(calibration, plan.allocate) : undefined;

  const etaOurs = stat(tOurs.map(eta));
  const savings = Object.fromEntries(
    (input.defaults ?? [20, 30, 50, 65]).map((d) => [
      String(d),
      {
        steps: d,
        eta_tflops: eta(d),
        saved_fraction: 1 - etaOurs.mean / eta(d),
        steps_saved_fraction: 1 - stat(tOurs).mean / d,
      },
    ]),
  );

  return {
    n_test: ids.length,
    quality_source: generatedBlock
      ? "images generated at each condition's exact step count, every dataset seed, metrics against I(p,129,s)"
      : "dense linear interpolation of the measured seed-averaged curves (SPEC §1)",
    table1_mae_dense: table1,
    table1_mae_sampled: table1Sampled,
    table1_mae_baselines: table1Baselines,
    t_star: {
      with_floor: tStarSummary(tOurs),
      without_floor: tStarSummary(budgets.map((b) => b.withoutFloor.steps)),
      oracle_measured_curves: tStarSummary(tOracle),
      spearman_vs_oracle: spearman(tOurs, tOracle),
      per_prompt: ids.map((id, i) => ({
        prompt_id: id,
        t_star: tOurs[i],
        t_star_no_floor: budgets[i].withoutFloor.steps,
        t_star_oracle: tOracle[i],
        per_metric: budgets[i].withFloor.perMetric,
      })),
    },
    uniform_steps: tUniform,
    /** The REFERENCE condition's step count (the paper's 65), as the report prints it. */
    reference_steps: paperReferenceSteps,
    eta_tflops: { ours: etaOurs, uniform: eta(tUniform), reference: eta(paperReferenceSteps) },
    relative_quality: primary.relative_quality,
    table2_quality_per_tflop: primary.table2_quality_per_tflop,
    quality: primary.quality,
    interpolated,
    oracle,
    allocation_ceiling: allocationCeilingBlock,
    ...(allocationMode ? { allocation_mode: allocationMode } : {}),
    ...(generatedBlock ? { generated: generatedBlock } : {}),
    savings_vs_defaults: savings,
  };
}

export type Evaluation = Awaited<ReturnType<typeof evaluate>>;
