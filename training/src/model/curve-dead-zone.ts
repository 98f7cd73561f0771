/**
 * The settled dead zone of an exported curve (beyond SPEC §4; docs/interpretations.md): every
 * value within δ of the curve's last (129-step) value is moved onto it, and every other value is
 * moved δ towards it, y'(t) = y(t) - clip(y(t) - y(N), -δ, δ) (a soft threshold of the distance
 * to the end, so a monotone curve stays monotone and the end value is kept).
 *
 * Why: SPEC §5 reads t* from the LAST per-step change above a floor of 5e-4 per step, so on a
 * world where half of the prompts are done in 3 steps (docs/world-v2.md §8) a head has to be
 * flat to a few ten-thousandths on all of them for their t* to stay early, and a network never
 * is: wiggles well inside its own error (validation MAE 0.02-0.03) decided t*. Inside the dead
 * zone the predicted curve says "settled", and the rule's t* for that metric becomes about the
 * step from which the curve stays within δ of its end. δ per metric is chosen on validation
 * prompts (eval/dead-zone-choice.ts); the export appends it to the graph
 * (export/onnx-dead-zone.ts), so serving needs nothing new.
 */

/** The dead zone of rows [n, length] (row-major), in float32 like the exported graph. */
export function curveDeadZone(
  rows: Float32Array,
  n: number,
  length: number,
  delta: number,
): Float32Array {
  const out = new Float32Array(rows.length);
  const d32 = Math.fround(delta);
  for (let b = 0; b < n; b++) {
    const end = rows[b * length + length - 1];
    for (let t = 0; t < length; t++) {
      const y = rows[b * length + t];
      const d = Math.fround(y - end);
      out[b * length + t] = y - Math.min(Math.max(d, -d32), d32);
    }
  }
  return out;
}
