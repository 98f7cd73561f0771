/**
 * Per-metric target normalisation (SPEC §4 training; docs/training.md "Target normalisation").
 * Why: D-SIM targets sit near 0 and I-CLIP near 1, where the sigmoid head's gradient vanishes
 * (sigmoid' ~ 0.01), so Adam barely moves those heads. We fit lo/hi on the TRAINING split only,
 * map y' = 0.05 + 0.9 (y - lo) / (hi - lo) into [0.05, 0.95], train on y', and bake the inverse
 * affine y = scale * y' + offset into the exported ONNX after the Sigmoid, so a bundle's
 * `scores` stay in metric units and the edge needs no change.
 */
import { ValidationError } from "@budgetfusion/shared/errors";

const NORM_LOW = 0.05;
const NORM_HIGH = 0.95;

export interface TargetNorm {
  /** Smallest / largest training target (metric units). */
  lo: number;
  hi: number;
  /** Inverse map: metric = scale * normalised + offset. */
  scale: number;
  offset: number;
}

/** Fits lo/hi on the given (training-split) targets. */
export function fitTargetNorm(targets: Float32Array): TargetNorm {
  if (targets.length === 0)
    throw new ValidationError("targets: cannot fit a normalisation on no values", {
      field: "targets",
    });
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of targets) {
    if (!Number.isFinite(v))
      throw new ValidationError("targets: non-finite value", { field: "targets" });
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  // A constant target would divide by zero; any positive span keeps the map invertible.
  const span = Math.max(hi - lo, 1e-6);
  const scale = span / (NORM_HIGH - NORM_LOW);
  return { lo, hi: lo + span, scale, offset: lo - NORM_LOW * scale };
}

/** y -> y' (values outside [lo, hi], e.g. in validation, map outside [0.05, 0.95]). */
export function normaliseTargets(targets: Float32Array, norm: TargetNorm): Float32Array {
  return targets.map((v) => (v - norm.offset) / norm.scale);
}

/** y' -> y (what the exported ONNX computes after its Sigmoid). */
export function denormalise(scores: Float32Array, norm: TargetNorm): Float32Array {
  // Clamped to [0, 1], the range of every metric, exactly as the exported graph's Clip.
  return scores.map((v) => Math.min(Math.max(norm.scale * v + norm.offset, 0), 1));
}
