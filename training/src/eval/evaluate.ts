/**
 * Evaluation on the held-out prompts (SPEC §6, paper Sec. 4): Table 1 (MAE of predicted vs
 * measured curves for three model variants), t* per prompt with and without the eps floor
 * (SPEC §5), Table 2 (quality per TFLOP for OURS, UNIFORM and REFERENCE), relative quality
 * (Eq. 9), compute savings against fixed step defaults, and the allocation ceiling
 * (allocation-ceiling.ts: the most any allocation of the same mean steps could gain), and,
 * given a calibration, the allocate mode (shared/src/plateau/allocate.ts; its weighted objective
 * and, given their price tables, each metric priced alone) against UNIFORM at its own mean steps,
 * with the share of that ceiling it realises.
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
  type AllocationPrice,
  type AllocationPriceTable,
  allocateSteps,
  spendMatchedPrice,
} from "@budgetfusion/shared/plateau/allocate";
import { type PlateauParams, stepBudget } from "@budgetfusion/shared/plateau/step-budget";
import { METRIC_NAMES, type MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";
import { sampleRankCorrelation } from "simple-statistics";
import type { MetricValues } from "../metrics/perceptual-metrics";
import { allocationCeiling } from "./allocation-ceiling";
import type { AllocationDiagnosis } from "./allocation-realised";
import type { WeightChoice } from "./allocation-weights";
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
  allocationValidation?: AllocationDiagnosis & { weights_choice?: WeightChoice };
  /** The allocate mode's calibration (on validation prompts); absent = no allocation_mode. */
  allocation?: AllocationCalibration;
  /** The same calibration for every integer mean-steps target (the bundle's price table). */
  allocationPrices?: AllocationPriceTable;
  /** The same for each metric priced alone (weight 1 on it, 0 on the others). */
  allocationPricesByMetric?: Partial<Record<MetricName, AllocationPriceTable>>;
  /**
   * Seed-averaged metrics of images generated at each planned condition's step count per prompt
   * (t*_OURS, t_UNIFORM, REFERENCE, and two per planned allocate objective).
   * Called once t* and the uniform step count are known.
   */
  generated?: (plan: ConditionPlan) => Promise<ReadonlyMap<number, GeneratedMetrics>>;
}

const CONDITIONS = ["ours", "uniform", "reference"] as const;
export type Condition = (typeof CONDITIONS)[number];
/** SPEC §6's three conditions, as against the allocate objectives'. */
export function isSpecCondition(c: Condition | AllocationCondition): c is Condition {
  return (CONDITIONS as readonly string[]).includes(c);
}
/**
 * The allocate mode's objectives: the bundle's weighted sum of the metrics, and each metric priced
 * alone (the objective whose knapsack is exactly that metric's allocation ceiling).
 */
const ALLOCATION_OBJECTIVES = ["weighted", ...METRIC_NAMES] as const;
export type AllocationObjective = (typeof ALLOCATION_OBJECTIVES)[number];
/** An objective's t(p) and UNIFORM at its mean steps. */
export type AllocationCondition = `allocate${"" | `_${MetricName}`}${"" | "_uniform"}`;
export type GeneratedMetrics = Record<Condition, MetricValues> &
  Partial<Record<AllocationCondition, MetricValues>>;

/** The conditions an objective's images are generated under. */
function allocationConditions(o: AllocationObjective): {
  steps: AllocationCondition;
  uniform: AllocationCondition;
} {
  const steps = o === "weighted" ? "allocate" : (`allocate_${o}` as const);
  return { steps, uniform: `${steps}_uniform` };
}

/** Step counts per prompt for the three conditions of SPEC §6 (and the allocate mode's). */
export interface ConditionPlan {
  promptIds: readonly number[];
  ours: readonly number[];
  uniform: number;
  /** The paper's REFERENCE step count (65). */
  reference: number;
  allocate?: Partial<Record<AllocationObjective, { steps: readonly number[]; uniform: number }>>;
}

/** The price an objective is scored at, and how it was picked. */
type ScoredPrice = AllocationPrice & { target_mean_steps: number; chosen_by: string };

const plannedObjectives = (plan: ConditionPlan) =>
  ALLOCATION_OBJECTIVES.filter((o) => plan.allocate?.[o] !== undefined);

/** The conditions a plan asks images for. */
export function plannedConditions(plan: ConditionPlan): (Condition | AllocationCondition)[] {
  return [
    ...CONDITIONS,
    ...plannedObjectives(plan).flatMap((o) => {
      const c = allocationConditions(o);
      return [c.steps, c.uniform];
    }),
  ];
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
  for (const o of plannedObjectives(plan)) {
    const c = allocationConditions(o);
    const a = plan.allocate?.[o];
    if (a && cond === c.steps) return a.steps[i];
    if (a && cond === c.uniform) return a.uniform;
  }
  throw new Error(`the plan has no allocate objective for ${cond}`);
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

function tStarSummary(ts: readonly number[]) {
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
  const served = ids.map((_, i) => fullCurves(i));
  const oursMean = stat(tOurs).mean;
  // With price tables each objective is scored at its table's target whose spend on these prompts
  // matches OURS' (predicted steps only), so the two compare at equal mean steps; the bundle's
  // own default price was calibrated for OURS' mean on the validation prompts, which sampling puts
  // a step or two away from OURS' mean here.
  const prices: Partial<Record<AllocationObjective, ScoredPrice>> = {};
  if (calibration) {
    const matched = (table: AllocationPriceTable): ScoredPrice => ({
      ...spendMatchedPrice(table, served, oursMean),
      chosen_by: "the price table's entry whose mean steps on these prompts is nearest OURS'",
    });
    prices.weighted = input.allocationPrices
      ? matched(input.allocationPrices)
      : { ...calibration, chosen_by: "the bundle's default price" };
    for (const m of METRIC_NAMES) {
      const table = input.allocationPricesByMetric?.[m];
      if (table) prices[m] = matched(table);
    }
  }
  const allocated: NonNullable<ConditionPlan["allocate"]> = {};
  for (const o of ALLOCATION_OBJECTIVES) {
    const price = prices[o];
    if (!price) continue;
    const steps = served.map((c) => allocateSteps(c, price));
    allocated[o] = { steps, uniform: Math.max(1, Math.round(stat(steps).mean)) };
  }
  const plan: ConditionPlan = {
    promptIds: ids,
    ours: tOurs,
    uniform: tUniform,
    reference: paperReferenceSteps,
    ...(calibration ? { allocate: allocated } : {}),
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

  // An allocate objective: t(p) from the full model's curves at a validation-calibrated price,
  // against UNIFORM at its own mean steps (the comparison its ceiling is defined for).
  const allocationResultOf = (o: AllocationObjective, price: ScoredPrice) => {
    const plannedO = allocated[o];
    if (!plannedO) throw new Error(`allocate objective ${o} was not planned`);
    const { steps, uniform } = plannedO;
    const cond = allocationConditions(o);
    const relativeBy = (q: (i: number, m: MetricName, c: AllocationCondition) => number) =>
      Object.fromEntries(
        METRIC_NAMES.map((m) => [
          m,
          relativeQuality(ids.length, (i, w) => q(i, m, w === "a" ? cond.steps : cond.uniform)),
        ]),
      ) as Record<MetricName, Stat & { skipped: number }>;
    const interpolatedRelative = relativeBy((i, m, c) =>
      quality(m, dense[i][m][plannedSteps(plan, c, i) - 1]),
    );
    const relative = gen ? relativeBy(generatedQuality) : interpolatedRelative;
    const allocCeiling = ceilingAt(uniform);
    return {
      price: {
        lambda: price.lambda,
        uniform_steps: price.uniform_steps,
        weights: price.weights,
        target_mean_steps: price.target_mean_steps,
        chosen_by: price.chosen_by,
      },
      mean_steps: stat(steps).mean,
      steps: tStarSummary(steps),
      uniform_steps: uniform,
      ours_mean_steps: oursMean,
      relative_quality: relative,
      interpolated_relative_quality: interpolatedRelative,
      ceiling: Object.fromEntries(METRIC_NAMES.map((m) => [m, allocCeiling[m].relative_quality])),
      fraction_realised: fractionOf(relative, allocCeiling),
      per_prompt: ids.map((id, i) => ({ prompt_id: id, steps: steps[i] })),
    };
  };
  const byMetric = Object.fromEntries(
    METRIC_NAMES.flatMap((m) => {
      const price = prices[m];
      return price ? [[m, allocationResultOf(m, price)]] : [];
    }),
  ) as Partial<Record<MetricName, ReturnType<typeof allocationResultOf>>>;
  const allocationMode =
    calibration && prices.weighted
      ? {
          calibration,
          ...allocationResultOf("weighted", prices.weighted),
          ...(input.allocationValidation ? { validation: input.allocationValidation } : {}),
          ...(input.allocationPrices ? { price_table: input.allocationPrices } : {}),
          ...(Object.keys(byMetric).length
            ? { by_metric: byMetric, price_tables_by_metric: input.allocationPricesByMetric }
            : {}),
        }
      : undefined;

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
