/**
 * How much of the allocation ceiling (allocation-ceiling.ts) the allocate mode realises on prompts
 * whose measured curves are known, e.g. validation prompts: t(p) from the predicted curves at
 * the calibrated price (shared/src/plateau/allocate.ts), Eq. 9 against UNIFORM at the price's U
 * read off the measured dense curves, and that gain as a share of the ceiling at U. The
 * evaluation records it for the validation prompts, which allocation settings are chosen on.
 */
import { DENSE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import { metricQuality } from "@budgetfusion/shared/metrics/metric-quality";
import {
  type AllocationPrice,
  allocateSteps,
  calibrateAllocation,
} from "@budgetfusion/shared/plateau/allocate";
import { METRIC_NAMES, type MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";
import { allocationCeiling } from "./allocation-ceiling";
import { type Stat, stat } from "./stat";

export interface RealisedAllocation {
  n: number;
  mean_steps: number;
  uniform_steps: number;
  /** Eq. 9 of the allocation against UNIFORM at U, its ceiling there and the share realised. */
  per_metric: Record<MetricName, Stat & { ceiling: number; fraction_realised: number }>;
}

/**
 * @param predicted per prompt, the predicted dense curves (metric units)
 * @param measured per metric, the measured dense curves [prompts, 129] (metric units)
 */
export function allocationRealised(
  predicted: readonly Record<MetricName, ArrayLike<number>>[],
  measured: Record<MetricName, Float32Array>,
  price: AllocationPrice,
): RealisedAllocation {
  const n = predicted.length;
  const U = price.uniform_steps;
  const steps = predicted.map((c) => allocateSteps(c, price));
  const q = (m: MetricName, i: number, t: number) =>
    metricQuality(m, measured[m][i * DENSE_STEPS + t - 1]);
  const perMetric = {} as RealisedAllocation["per_metric"];
  for (const m of METRIC_NAMES) {
    const gains = steps.map((t, i) => q(m, i, t) / q(m, i, U) - 1);
    const gain = stat(gains);
    const ceiling = allocationCeiling(
      steps.map((_, i) => Array.from({ length: DENSE_STEPS }, (_, t) => q(m, i, t + 1))),
      U,
    ).relative_quality;
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

/** Weights that price one metric alone. */
function only(metric: MetricName): Record<MetricName, number> {
  return Object.fromEntries(METRIC_NAMES.map((m) => [m, m === metric ? 1 : 0])) as Record<
    MetricName,
    number
  >;
}

/**
 * The allocate mode on prompts with measured curves, beside what a perfect predictor (the
 * measured curves themselves, priced for the same mean) realises with the same weights, and each
 * metric priced alone: whether a miss is the predictor's or the weights'.
 */
export function allocationDiagnosis(
  predicted: readonly Record<MetricName, ArrayLike<number>>[],
  measured: Record<MetricName, Float32Array>,
  price: AllocationPrice & { target_mean_steps: number },
) {
  const perfect = predicted.map(
    (_, i) =>
      Object.fromEntries(
        METRIC_NAMES.map((m) => [m, measured[m].subarray(i * DENSE_STEPS, (i + 1) * DENSE_STEPS)]),
      ) as Record<MetricName, Float32Array>,
  );
  const priced = (
    curves: readonly Record<MetricName, ArrayLike<number>>[],
    weights: Record<MetricName, number>,
  ) =>
    allocationRealised(
      curves,
      measured,
      calibrateAllocation(curves, price.target_mean_steps, weights),
    );
  return {
    ...allocationRealised(predicted, measured, price),
    perfect_predictor: priced(perfect, price.weights),
    /** Share of each metric's ceiling when the price weighs that metric alone. */
    single_metric: Object.fromEntries(
      METRIC_NAMES.map((m) => [
        m,
        {
          predicted: priced(predicted, only(m)).per_metric[m].fraction_realised,
          perfect_predictor: priced(perfect, only(m)).per_metric[m].fraction_realised,
        },
      ]),
    ) as Record<MetricName, { predicted: number; perfect_predictor: number }>,
  };
}

export type AllocationDiagnosis = ReturnType<typeof allocationDiagnosis>;
