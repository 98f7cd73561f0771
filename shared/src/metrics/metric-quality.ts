/**
 * q_m, the "higher is better" quality of a metric value (paper Table 2, SPEC §6): 1 - L-SNR,
 * 1 - D-SIM and I-CLIP itself. One definition for the evaluation and the allocate mode.
 */
import type { MetricName } from "../predictor/bundle-manifest";

export function metricQuality(metric: MetricName, value: number): number {
  return metric === "iclip" ? value : 1 - value;
}
