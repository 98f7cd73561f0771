/**
 * The denoising-step grid (SPEC §1, paper Sec. 3.1 and 3.3): the sampled step counts T, the
 * reference step count t_N, and linear interpolation of values sampled on T onto the dense grid
 * t = 1..129 (the paper's pseudo-ground-truth at every step).
 */
import { ShapeError, ValidationError } from "../errors";

/** Sampled step counts T (N = 12). */
export const STEP_GRID: readonly number[] = Object.freeze([
  1, 2, 3, 5, 9, 17, 22, 27, 33, 42, 65, 129,
]);
/**
 * t_N, the dense reference: the image at 129 steps is what every other step count's D-SIM and
 * I-CLIP are measured against (and the last point of every curve).
 */
export const DENSE_REFERENCE_STEPS = 129;
/**
 * The paper's REFERENCE condition (Table 2, SPEC §1): a fixed 65-step budget that OURS and
 * UNIFORM are compared with, and what the edge reports savings against.
 */
export const PAPER_REFERENCE_STEPS = 65;
/** Dense grid length: every integer t in 1..129. */
export const DENSE_STEPS = 129;

function checkFinite(values: ArrayLike<number>, field: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new ValidationError(`${field}[${i}] is ${values[i]}, expected a finite number`, {
        field: `${field}[${i}]`,
      });
    }
  }
}

/**
 * Linear interpolation over t of `values` (one per grid step) onto t = 1..denseSteps.
 * Index i of the result is step i + 1. Steps outside the grid's span hold the nearest end value
 * (with the default grid, 1..129, there are none).
 *
 * @param values one value per grid entry, finite
 * @param grid strictly ascending positive integer step counts
 * @param denseSteps length of the dense curve (default 129)
 */
export function interpolateDense(
  values: ArrayLike<number>,
  grid: readonly number[] = STEP_GRID,
  denseSteps: number = DENSE_STEPS,
): Float64Array {
  if (!Number.isInteger(denseSteps) || denseSteps < 1) {
    throw new ValidationError(`denseSteps must be a positive integer, got ${denseSteps}`, {
      field: "denseSteps",
    });
  }
  if (grid.length < 1) {
    throw new ValidationError("grid must not be empty", { field: "grid" });
  }
  for (let k = 0; k < grid.length; k++) {
    if (!Number.isInteger(grid[k]) || grid[k] < 1) {
      throw new ValidationError(`grid[${k}] must be a positive integer step, got ${grid[k]}`, {
        field: `grid[${k}]`,
      });
    }
    if (k > 0 && grid[k] <= grid[k - 1]) {
      throw new ValidationError(`grid must be strictly ascending: grid[${k}] = ${grid[k]}`, {
        field: `grid[${k}]`,
      });
    }
  }
  if (values.length !== grid.length) {
    throw new ShapeError(`values has ${values.length} entries, the grid ${grid.length}`, {
      field: "values",
    });
  }
  checkFinite(values, "values");

  const out = new Float64Array(denseSteps);
  let k = 0; // grid segment [grid[k], grid[k+1]] that contains t
  for (let i = 0; i < denseSteps; i++) {
    const t = i + 1;
    if (t <= grid[0]) {
      out[i] = values[0];
      continue;
    }
    if (t >= grid[grid.length - 1]) {
      out[i] = values[grid.length - 1];
      continue;
    }
    while (grid[k + 1] < t) k++;
    const t0 = grid[k];
    const t1 = grid[k + 1];
    const f = (t - t0) / (t1 - t0);
    out[i] = values[k] + f * (values[k + 1] - values[k]);
  }
  return out;
}
