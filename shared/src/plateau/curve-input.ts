/**
 * Input checks shared by the step-budget rules (SPEC §5): per-metric dense curves over t = 1..129
 * and the caller's [minSteps, maxSteps] bounds. Every failure names the field.
 */
import { ShapeError, ValidationError } from "../errors";
import { DENSE_STEPS } from "../grid/step-grid";
import { METRIC_NAMES, type MetricName } from "../predictor/bundle-manifest";

export type MetricCurves = Record<MetricName, ArrayLike<number>>;

export interface StepBounds {
  /** Smallest step count returned (integer >= 1, default 1). */
  minSteps?: number;
  /** Largest step count returned (integer <= 129, default 129). */
  maxSteps?: number;
}

/** Throws ValidationError naming `field[i]` for the first non-finite entry. */
export function checkCurve(curve: ArrayLike<number>, field: string, length?: number): void {
  if (curve === null || typeof curve !== "object" || typeof curve.length !== "number") {
    throw new ValidationError(`${field} must be an array of numbers`, { field });
  }
  if (length !== undefined && curve.length !== length) {
    throw new ShapeError(`${field} has ${curve.length} values, expected ${length} (t = 1..129)`, {
      field,
    });
  }
  for (let i = 0; i < curve.length; i++) {
    if (typeof curve[i] !== "number" || !Number.isFinite(curve[i])) {
      throw new ValidationError(`${field}[${i}] is ${curve[i]}, expected a finite number`, {
        field: `${field}[${i}]`,
      });
    }
  }
}

/** Every metric present, each a finite dense curve of DENSE_STEPS values. */
export function checkMetricCurves(curves: MetricCurves): void {
  if (curves === null || typeof curves !== "object") {
    throw new ValidationError("curves must be an object keyed by metric", { field: "curves" });
  }
  for (const m of METRIC_NAMES) {
    if (curves[m] === undefined) {
      throw new ValidationError(`curves.${m} is missing`, { field: `curves.${m}` });
    }
    checkCurve(curves[m], `curves.${m}`, DENSE_STEPS);
  }
}

/** Resolves and checks the bounds: integers with 1 <= minSteps <= maxSteps <= 129. */
export function resolveBounds(bounds: StepBounds): { minSteps: number; maxSteps: number } {
  const minSteps = bounds.minSteps ?? 1;
  const maxSteps = bounds.maxSteps ?? DENSE_STEPS;
  for (const [field, v] of [
    ["minSteps", minSteps],
    ["maxSteps", maxSteps],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > DENSE_STEPS) {
      throw new ValidationError(`${field} must be an integer in [1, ${DENSE_STEPS}], got ${v}`, {
        field,
      });
    }
  }
  if (minSteps > maxSteps) {
    throw new ValidationError(`minSteps (${minSteps}) exceeds maxSteps (${maxSteps})`, {
      field: "minSteps",
    });
  }
  return { minSteps, maxSteps };
}

export function clampSteps(t: number, bounds: { minSteps: number; maxSteps: number }): number {
  return Math.min(bounds.maxSteps, Math.max(bounds.minSteps, t));
}
