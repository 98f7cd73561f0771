/**
 * How much of the allocation ceiling (allocation-ceiling.ts) the allocate mode realises on prompts
 * whose measured curves are known, e.g. validation prompts: t(p) from the predicted curves at
 * the calibrated price (shared/src/plateau/allocate.ts), Eq. 9 against UNIFORM at the price's U
 * read off the measured dense curves, and that gain as a share of the ceiling at U. The
 * evaluation records it for the validation prompts, which allocation settings are chosen on.
 */
import { DENSE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import { metricQuality } from "@budgetfusion/shared/metrics/metric-quality";
import { type AllocationPrice, allocateSteps } from "@budgetfusion/shared/plateau/allocate";
import { METRIC_NAMES, type MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";
import { allocationCeiling } from "./allocation-ceiling";
import { type Stat, stat } from "./evaluate";

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
