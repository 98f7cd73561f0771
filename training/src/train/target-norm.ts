/**
 * Per-metric target normalisation (SPEC §4 training; docs/training.md "Target normalisation").
 * Why: D-SIM targets sit near 0 and I-CLIP near 1, where the sigmoid head's gradient vanishes
 * (sigmoid' ~ 0.01), so Adam barely moves those heads. We fit lo/hi on the TRAINING split only,
 * map y' = 0.05 + 0.9 (y - lo) / (hi - lo) into [0.05, 0.95], train on y', and bake the inverse
 * affine y = scale * y' + offset into the exported ONNX after the Sigmoid, so a bundle's
 * `scores` stay in metric units and the edge needs no change.
 *
 * Optionally the head learns log q instead of the metric value (space "log-quality", q the
 * higher-is-better quality of shared/src/metrics/metric-quality.ts). Why: the allocate mode and
 * Eq. 9 read a curve as ratios q(t) / q(U), and for L-SNR q = 1 - L-SNR is small (median 0.15 at
 * 26 steps on world v2), so an absolute error that is fine for the plateau rule is a large ratio
 * error. Squared error on log q weighs ratio errors equally for every prompt. The export
 * inverts it (q = exp(y), then the metric value from q) before the clip, so `scores` keep their
 * metric units.
 */
import { ValidationError } from "@budgetfusion/shared/errors";
import { metricQuality } from "@budgetfusion/shared/metrics/metric-quality";
import type { MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";

const NORM_LOW = 0.05;
const NORM_HIGH = 0.95;
/** log q of a quality of 0 would be -inf; no measured quality on world v2 is below 0.02. */
const LOG_QUALITY_FLOOR = 1e-4;

export type TargetSpace = "value" | "log-quality";

export interface TargetNorm {
  /** Smallest / largest training target (in the target space). */
  lo: number;
  hi: number;
  /** Inverse map: target = scale * normalised + offset. */
  scale: number;
  offset: number;
  /** Absent: the metric value itself. "log-quality": log q of `metric`. */
  space?: "log-quality";
  metric?: MetricName;
}

/** How an exported graph turns the affine output back into a metric value (onnx-export.ts). */
export type QualityInverse = "complement" | "identity";

/** q = 1 - v for L-SNR and D-SIM, q = v for I-CLIP (metric-quality.ts). */
export function qualityInverse(metric: MetricName): QualityInverse {
  return metricQuality(metric, 0) === 1 ? "complement" : "identity";
}

function toSpace(v: number, norm: Pick<TargetNorm, "space" | "metric">): number {
  if (norm.space !== "log-quality") return v;
  return Math.log(Math.max(metricQuality(norm.metric as MetricName, v), LOG_QUALITY_FLOOR));
}

function fromSpace(y: number, norm: Pick<TargetNorm, "space" | "metric">): number {
  if (norm.space !== "log-quality") return y;
  const q = Math.exp(y);
  return qualityInverse(norm.metric as MetricName) === "complement" ? 1 - q : q;
}

/** Fits lo/hi on the given (training-split) targets, in metric units, for `space`. */
export function fitTargetNorm(
  targets: Float32Array,
  space: TargetSpace = "value",
  metric?: MetricName,
): TargetNorm {
  if (targets.length === 0)
    throw new ValidationError("targets: cannot fit a normalisation on no values", {
      field: "targets",
    });
  if (space === "log-quality" && metric === undefined)
    throw new ValidationError("metric: the log-quality space needs the metric", {
      field: "metric",
    });
  const tag = space === "log-quality" ? { space, metric } : {};
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of targets) {
    if (!Number.isFinite(v))
      throw new ValidationError("targets: non-finite value", { field: "targets" });
    const y = toSpace(v, tag);
    lo = Math.min(lo, y);
    hi = Math.max(hi, y);
  }
  // A constant target would divide by zero; any positive span keeps the map invertible.
  const span = Math.max(hi - lo, 1e-6);
  const scale = span / (NORM_HIGH - NORM_LOW);
  return { lo, hi: lo + span, scale, offset: lo - NORM_LOW * scale, ...tag };
}

/** y -> y' (values outside [lo, hi], e.g. in validation, map outside [0.05, 0.95]). */
export function normaliseTargets(targets: Float32Array, norm: TargetNorm): Float32Array {
  return targets.map((v) => (toSpace(v, norm) - norm.offset) / norm.scale);
}

/** y' -> metric value (what the exported ONNX computes after its Sigmoid). */
export function denormalise(scores: Float32Array, norm: TargetNorm): Float32Array {
  // Clamped to [0, 1], the range of every metric, exactly as the exported graph's Clip.
  return scores.map((v) => Math.min(Math.max(fromSpace(norm.scale * v + norm.offset, norm), 0), 1));
}
