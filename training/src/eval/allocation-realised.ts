/**
 * How much of the allocation ceiling (allocation-ceiling.ts) the allocate mode realises on prompts
 * whose measured curves are known, e.g. validation prompts: t(p) from the predicted curves at
 * the calibrated price (shared/src/plateau/allocate.ts), Eq. 9 against UNIFORM at the price's U
 * read off the measured dense curves, and that gain as a share of the ceiling at U. The
 * evaluation records it for the validation prompts, which allocation settings are chosen on.
 */
import { metricQuality } from "@budgetfusion/shared/metrics/metric-quality";
import {
  type AllocationPrice,
  allocateSteps,
  calibrateAllocation,
  metricAlone,
} from "@budgetfusion/shared/plateau/allocate";
import { METRIC_NAMES, type MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";
import { allocationCeiling } from "./allocation-ceiling";
import { relativeQuality, type Stat, stat } from "./stat";

export interface RealisedAllocation {
  n: number;
  mean_steps: number;
  uniform_steps: number;
  /** Eq. 9 of the allocation against UNIFORM at U, its ceiling there and the share realised. */
  per_metric: Record<
    MetricName,
    Stat & { skipped: number; ceiling: number; fraction_realised: number }
  >;
}

type Curves = Record<MetricName, ArrayLike<number>>;

/** Each metric's allocation ceiling on the measured curves at UNIFORM `uniform`. */
export function measuredCeilings(
  measured: readonly Curves[],
  uniform: number,
): Record<MetricName, number> {
  return Object.fromEntries(
    METRIC_NAMES.map((m) => [
      m,
      allocationCeiling(
        measured.map((c) => Array.from(c[m], (v) => metricQuality(m, v))),
        uniform,
      ).relative_quality,
    ]),
  ) as Record<MetricName, number>;
}

/**
 * @param predicted per prompt, the predicted dense curves (metric units)
 * @param measured per prompt, the measured dense curves (metric units), in the same order
 * @param ceilings measuredCeilings(measured, price.uniform_steps), when the caller already has them
 */
export function allocationRealised(
  predicted: readonly Curves[],
  measured: readonly Curves[],
  price: AllocationPrice,
  ceilings: Record<MetricName, number> = measuredCeilings(measured, price.uniform_steps),
): RealisedAllocation {
  const n = predicted.length;
  const U = price.uniform_steps;
  const steps = predicted.map((c) => allocateSteps(c, price));
  const perMetric = {} as RealisedAllocation["per_metric"];
  for (const m of METRIC_NAMES) {
    const qualities = measured.map((c) => Array.from(c[m], (v) => metricQuality(m, v)));
    const gain = relativeQuality(n, (i, w) => qualities[i][(w === "a" ? steps[i] : U) - 1]);
    const ceiling = ceilings[m];
    perMetric[m] = {
      ...gain,
      ceiling,
      fraction_realised: ceiling > 0 ? gain.mean / ceiling : Number.NaN,
    };
  }
  return {
    n,
    mean_steps: stat(steps).mean,
    uniform_steps: U,
    per_metric: perMetric,
  };
}

/**
 * The allocate mode on prompts with measured curves, beside what a perfect predictor (the
 * measured curves themselves, priced for the same mean) realises with the same weights, and each
 * metric priced alone: whether a miss is the predictor's or the weights'.
 */
export function allocationDiagnosis(
  predicted: readonly Curves[],
  measured: readonly Curves[],
  price: AllocationPrice & { target_mean_steps: number },
) {
  const ceilings = measuredCeilings(measured, price.uniform_steps);
  const priced = (curves: readonly Curves[], weights: Record<MetricName, number>) =>
    allocationRealised(
      curves,
      measured,
      calibrateAllocation(curves, price.target_mean_steps, weights),
      ceilings,
    );
  return {
    ...allocationRealised(predicted, measured, price, ceilings),
    // A perfect predictor's curves are the measured ones.
    perfect_predictor: priced(measured, price.weights),
    /** Share of each metric's ceiling when the price weighs that metric alone. */
    single_metric: Object.fromEntries(
      METRIC_NAMES.map((m) => [
        m,
        {
          predicted: priced(predicted, metricAlone(m)).per_metric[m].fraction_realised,
          perfect_predictor: priced(measured, metricAlone(m)).per_metric[m].fraction_realised,
        },
      ]),
    ) as Record<MetricName, { predicted: number; perfect_predictor: number }>,
  };
}

export type AllocationDiagnosis = ReturnType<typeof allocationDiagnosis>;
