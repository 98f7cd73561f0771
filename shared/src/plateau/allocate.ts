/**
 * The allocate mode (beyond SPEC §5; docs/interpretations.md): instead of the plateau test, each
 * prompt gets the step count that maximises its weighted predicted quality gain minus a price
 * per step,
 *
 *   S_p(t) = sum_m w_m q̂_m(p, t) / q̂_m(p, U)          q̂ = metricQuality of the predicted curve
 *   t(p)   = argmax_{t in [min, max]} S_p(t) - λ t       (smallest t on ties)
 *
 * This is the Lagrangian relaxation of the knapsack that defines the evaluation's allocation
 * ceiling (training/src/eval/allocation-ceiling.ts): with λ set so that the mean of t(p) is the
 * operator's mean-steps target, the prompts whose predicted curves still gain most per step get
 * the steps. U is the UNIFORM count the gains are measured against (Eq. 9's denominator), the
 * target rounded. λ is calibrated once, on validation prompts, by bisection (calibrateAllocation)
 * and shipped in the bundle manifest, so serving answers one prompt at a time.
 *
 * The smallest maximiser is non-increasing in λ (for λ' > λ, any t above the λ-maximiser loses
 * at least as much at λ'), so the mean step count is a non-increasing step function of λ and
 * bisection finds the λ whose mean is nearest the target.
 */
import { ValidationError } from "../errors";
import { DENSE_STEPS } from "../grid/step-grid";
import { metricQuality } from "../metrics/metric-quality";
import { METRIC_NAMES, type MetricName } from "../predictor/bundle-manifest";
import {
  checkMetricCurves,
  clampSteps,
  type MetricCurves,
  resolveBounds,
  type StepBounds,
} from "./curve-input";

export interface AllocationPrice {
  /** λ, the price of one step in weighted relative quality. */
  lambda: number;
  /** U, the step count the quality gains are relative to. */
  uniform_steps: number;
  /** w_m, weights of the metrics' relative qualities. */
  weights: Record<MetricName, number>;
}

/** Equal weights: S_p(t) is the mean over metrics of the relative quality. */
export const EQUAL_WEIGHTS: Readonly<Record<MetricName, number>> = Object.freeze({
  lsnr: 1 / 3,
  dsim: 1 / 3,
  iclip: 1 / 3,
});

/** Weights that price one metric alone: the objective of that metric's own allocation ceiling. */
export function metricAlone(metric: MetricName): Record<MetricName, number> {
  return Object.fromEntries(METRIC_NAMES.map((m) => [m, m === metric ? 1 : 0])) as Record<
    MetricName,
    number
  >;
}

function checkUniform(u: number): void {
  if (!Number.isInteger(u) || u < 1 || u > DENSE_STEPS)
    throw new ValidationError(`uniform_steps must be an integer in [1, ${DENSE_STEPS}], got ${u}`, {
      field: "uniform_steps",
    });
}

function checkWeights(w: Record<MetricName, number>): void {
  for (const m of METRIC_NAMES)
    if (typeof w?.[m] !== "number" || !Number.isFinite(w[m]) || w[m] < 0)
      throw new ValidationError(`weights.${m} must be a finite number >= 0, got ${w?.[m]}`, {
        field: `weights.${m}`,
      });
}

/**
 * S_p(t) at t = 1..129 (index t - 1). A metric whose predicted quality at U is not positive has
 * no defined ratio and contributes nothing (as Eq. 9 skips such a prompt).
 */
export function allocationScores(
  curves: MetricCurves,
  uniformSteps: number,
  weights: Record<MetricName, number>,
): Float64Array {
  checkMetricCurves(curves);
  checkUniform(uniformSteps);
  checkWeights(weights);
  const s = new Float64Array(DENSE_STEPS);
  for (const m of METRIC_NAMES) {
    const base = metricQuality(m, curves[m][uniformSteps - 1]);
    if (!(base > 0) || weights[m] === 0) continue;
    for (let t = 0; t < DENSE_STEPS; t++)
      s[t] += (weights[m] * metricQuality(m, curves[m][t])) / base;
  }
  return s;
}

/** argmax_{t in [lo, hi]} scores[t-1] - λ t, the smallest t on ties. */
export function pricedArgmax(
  scores: ArrayLike<number>,
  lambda: number,
  lo = 1,
  hi = scores.length,
): number {
  let best = lo;
  let bestV = scores[lo - 1] - lambda * lo;
  for (let t = lo + 1; t <= hi; t++) {
    const v = scores[t - 1] - lambda * t;
    if (v > bestV) {
      best = t;
      bestV = v;
    }
  }
  return best;
}

/** t(p) for one prompt's predicted curves, restricted to the caller's bounds. */
export function allocateSteps(
  curves: MetricCurves,
  price: AllocationPrice,
  bounds: StepBounds = {},
): number {
  const { minSteps, maxSteps } = resolveBounds(bounds);
  if (typeof price.lambda !== "number" || !Number.isFinite(price.lambda) || price.lambda < 0)
    throw new ValidationError(`lambda must be a finite number >= 0, got ${price.lambda}`, {
      field: "lambda",
    });
  const scores = allocationScores(curves, price.uniform_steps, price.weights);
  return clampSteps(pricedArgmax(scores, price.lambda, minSteps, maxSteps), { minSteps, maxSteps });
}

export interface AllocationCalibration extends AllocationPrice {
  /** The operator's mean-steps target. */
  target_mean_steps: number;
  /** The mean of t(p) over the calibration prompts at λ (a step function: not always the target). */
  calibrated_mean_steps: number;
  /** How many prompts λ was calibrated on. */
  calibration_prompts: number;
}

const BISECTION_ROUNDS = 100;

/**
 * λ for which the mean allocated step count over `prompts` is nearest `targetMeanSteps` (the
 * fewer steps on a tie), by bisection on [0, λ_max]; at λ_max every prompt gets 1 step.
 */
export function calibrateAllocation(
  prompts: readonly MetricCurves[],
  targetMeanSteps: number,
  weights: Record<MetricName, number> = EQUAL_WEIGHTS,
): AllocationCalibration {
  if (prompts.length === 0)
    throw new ValidationError("prompts: need at least one calibration prompt", {
      field: "prompts",
    });
  if (!Number.isFinite(targetMeanSteps) || targetMeanSteps < 1 || targetMeanSteps > DENSE_STEPS)
    throw new ValidationError(
      `target_mean_steps must be in [1, ${DENSE_STEPS}], got ${targetMeanSteps}`,
      { field: "target_mean_steps" },
    );
  const uniform = Math.round(targetMeanSteps);
  const scores = prompts.map((c) => allocationScores(c, uniform, weights));
  const meanAt = (lambda: number) =>
    scores.reduce((sum, s) => sum + pricedArgmax(s, lambda), 0) / scores.length;
  // Above the steepest gain per step over t = 1 no t > 1 pays for itself.
  let hi = 0;
  for (const s of scores)
    for (let t = 2; t <= DENSE_STEPS; t++) hi = Math.max(hi, (s[t - 1] - s[0]) / (t - 1));
  hi = hi * (1 + 1e-9) + 1e-12;
  let lo = 0;
  let meanLo = meanAt(lo);
  let meanHi = meanAt(hi);
  if (meanLo > targetMeanSteps) {
    // Invariant: meanAt(lo) > target >= meanAt(hi).
    for (let r = 0; r < BISECTION_ROUNDS && hi - lo > 1e-15 * hi; r++) {
      const mid = (lo + hi) / 2;
      const m = meanAt(mid);
      if (m > targetMeanSteps) {
        lo = mid;
        meanLo = m;
      } else {
        hi = mid;
        meanHi = m;
      }
    }
  } else {
    hi = lo;
    meanHi = meanLo;
  }
  const useHi = Math.abs(meanHi - targetMeanSteps) <= Math.abs(meanLo - targetMeanSteps);
  return {
    lambda: useHi ? hi : lo,
    uniform_steps: uniform,
    weights: { ...weights },
    target_mean_steps: targetMeanSteps,
    calibrated_mean_steps: useHi ? meanHi : meanLo,
    calibration_prompts: prompts.length,
  };
}

/**
 * A price for every integer mean-steps target 1..129 (prices[k - 1] is target k), each calibrated
 * as calibrateAllocation does on the same prompts and weights: an operator picks the budget per
 * request (`mean_steps`) instead of per bundle, and every answer is still a calibrated price.
 */
export interface AllocationPriceTable
  extends Pick<AllocationCalibration, "weights" | "calibration_prompts"> {
  prices: Pick<AllocationCalibration, "lambda" | "uniform_steps" | "calibrated_mean_steps">[];
}

export function calibrateAllocationTable(
  prompts: readonly MetricCurves[],
  weights: Record<MetricName, number> = EQUAL_WEIGHTS,
): AllocationPriceTable {
  const prices = Array.from({ length: DENSE_STEPS }, (_, i) => {
    const c = calibrateAllocation(prompts, i + 1, weights);
    return {
      lambda: c.lambda,
      uniform_steps: c.uniform_steps,
      calibrated_mean_steps: c.calibrated_mean_steps,
    };
  });
  return { weights: { ...weights }, calibration_prompts: prompts.length, prices };
}

/** The table's price for an integer mean-steps target, as an AllocationPrice. */
export function tabledPrice(
  table: AllocationPriceTable,
  meanSteps: number,
): AllocationPrice & { target_mean_steps: number } {
  const entry = Number.isInteger(meanSteps) ? table.prices[meanSteps - 1] : undefined;
  if (!entry)
    throw new ValidationError(
      `mean_steps must be an integer in [1, ${table.prices.length}], got ${meanSteps}`,
      { field: "mean_steps" },
    );
  return {
    lambda: entry.lambda,
    uniform_steps: entry.uniform_steps,
    weights: table.weights,
    target_mean_steps: meanSteps,
  };
}

/**
 * The table entry whose allocation over `prompts` spends nearest `meanSteps` on average (the
 * smaller target on a tie). What an operator does to compare two policies at equal spend on the
 * traffic they serve: the prices stay the validation-calibrated ones, only the target is picked,
 * and only from predicted curves (no measured quality enters).
 */
export function spendMatchedPrice(
  table: AllocationPriceTable,
  prompts: readonly MetricCurves[],
  meanSteps: number,
): ReturnType<typeof tabledPrice> & { mean_steps: number } {
  if (prompts.length === 0)
    throw new ValidationError("prompts: need at least one prompt to match spend on", {
      field: "prompts",
    });
  const spendAt = (k: number) => {
    const price = tabledPrice(table, k);
    const mean = prompts.reduce((s, c) => s + allocateSteps(c, price), 0) / prompts.length;
    return { ...price, mean_steps: mean };
  };
  let best = spendAt(1);
  for (let k = 2; k <= table.prices.length; k++) {
    const at = spendAt(k);
    if (Math.abs(at.mean_steps - meanSteps) < Math.abs(best.mean_steps - meanSteps)) best = at;
  }
  return best;
}
