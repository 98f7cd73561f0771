/**
 * The training loss of one predicted curve (SPEC §4, docs/interpretations.md "difference loss"):
 * L2 on the values, plus optionally L2 on the first differences,
 *
 *   sum_t e_t^2 + diffWeight * sum_{t>=2} (e_t - e_{t-1})^2,   e = prediction - target.
 *
 * Why the second term: SPEC §5 reads t* from the per-step changes |m(t) - m(t-1)| of the dense
 * predicted curve, so a curve that is close in value but wiggles or ramps by more than the
 * floor (5e-4 per step) over its last few steps gets t* = 129. Plain L2 over 129 points barely
 * sees such a local ramp (e.g. the reverse LSTM's start-up transient at t = 129); matching the
 * differences trains exactly what the rule reads. diffWeight = 0 is the paper's loss.
 */

/**
 * Sum of the loss over one curve of T errors read at `err[offset + t * stride]`. When `grad` is
 * given, adds d(loss)/d(e_t) * scale at `grad[gradOffset + t * gradStride]`.
 */
export function curveLoss(
  err: ArrayLike<number>,
  offset: number,
  stride: number,
  T: number,
  diffWeight: number,
  grad?: { out: Float32Array; offset: number; stride: number; scale: number },
): number {
  let sum = 0;
  let prev = 0;
  for (let t = 0; t < T; t++) {
    const e = err[offset + t * stride];
    sum += e * e;
    let g = 2 * e;
    if (diffWeight > 0) {
      if (t > 0) {
        const d = e - prev;
        sum += diffWeight * d * d;
        g += 2 * diffWeight * d;
      }
      if (t < T - 1) g -= 2 * diffWeight * (err[offset + (t + 1) * stride] - e);
    }
    prev = e;
    if (grad) grad.out[grad.offset + t * grad.stride] += g * grad.scale;
  }
  return sum;
}
