/**
 * The grid-interpolated output (beyond SPEC §4; docs/interpretations.md): the dense curve is the
 * linear interpolation of the network's outputs at the sampled steps T, exactly how the training
 * targets are built from the measurements (SPEC §1 pseudo-ground-truth, interpolateDense).
 *
 * Why: SPEC §5 reads t* from the last per-step change above a small floor, so any wiggle or
 * slope the free-running BiLSTM leaves between 65 and 129 steps (its reverse direction starts
 * there) decided t* (docs/training.md §8). Read through this layer the last segment's change per
 * step is (y(129) - y(65)) / 64, and the predicted curve has the same piecewise-linear shape as
 * the measured curves the oracle rule is applied to. The targets lie in this layer's range, so
 * nothing the loss can see is lost.
 */
import { interpolateDense } from "@budgetfusion/shared/grid/step-grid";

/** The interpolation as a [steps, grid] matrix: dense[t] = sum_k P[t, k] y[grid[k]]. */
export interface GridInterpolation {
  grid: readonly number[];
  steps: number;
  /** Row-major [steps, grid.length]. */
  matrix: Float64Array;
}

/** P[:, k] is the interpolation of the k-th unit vector: the one definition in step-grid.ts. */
export function gridInterpolation(grid: readonly number[], steps: number): GridInterpolation {
  const K = grid.length;
  const matrix = new Float64Array(steps * K);
  for (let k = 0; k < K; k++) {
    const unit = new Float64Array(K);
    unit[k] = 1;
    const column = interpolateDense(unit, grid, steps);
    for (let t = 0; t < steps; t++) matrix[t * K + k] = column[t];
  }
  return { grid, steps, matrix };
}

/**
 * Time-major rows (row = t*n + b): replaces out[t, b] by the interpolation of out at the grid
 * steps. Returns a new array; `out` is left as the raw per-step outputs.
 */
export function interpolateRows(p: GridInterpolation, out: Float32Array, n: number): Float32Array {
  const K = p.grid.length;
  const res = new Float32Array(p.steps * n);
  for (let t = 0; t < p.steps; t++)
    for (let k = 0; k < K; k++) {
      const w = p.matrix[t * K + k];
      if (w === 0) continue;
      const src = (p.grid[k] - 1) * n;
      for (let b = 0; b < n; b++) res[t * n + b] += w * out[src + b];
    }
  return res;
}

/** Backward of interpolateRows: dL/d(raw out), non-zero only on the grid steps' rows. */
export function interpolateRowsBackward(
  p: GridInterpolation,
  dDense: Float32Array,
  n: number,
): Float32Array {
  const K = p.grid.length;
  const dRaw = new Float32Array(p.steps * n);
  for (let t = 0; t < p.steps; t++)
    for (let k = 0; k < K; k++) {
      const w = p.matrix[t * K + k];
      if (w === 0) continue;
      const dst = (p.grid[k] - 1) * n;
      for (let b = 0; b < n; b++) dRaw[dst + b] += w * dDense[t * n + b];
    }
  return dRaw;
}
