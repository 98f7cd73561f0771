/**
 * The monotone envelope of an exported curve (beyond SPEC §4; docs/interpretations.md): a metric
 * whose true seed-mean curve moves one way as steps are added (D-SIM falls and I-CLIP rises
 * towards the 129-step image) has its curve y replaced by the tightest monotone bound that keeps
 * every late value: y'(t) = max_{s >= t} y(s) for a falling metric, min_{s >= t} y(s) for a
 * rising one. `--curve-envelope` names the metrics it applies to.
 *
 * Why: SPEC §5 reads t* from the LAST per-step change above a small floor (5e-4 per step), so a
 * wiggle of a few thousandths that the network leaves late on a flat curve decided t* ("a plain
 * white wall": D-SIM predicted 0 everywhere but 0.005 at 42 steps gave t* 42; its measured t* is
 * 2). The envelope turns such a bump into a plateau that ends where the curve really settles.
 * Chosen on validation prompts only (docs/world-v2.md §7).
 *
 * Not for L-SNR in world v2: its measured curves are not monotone (on the claim run's training
 * prompts 35 % have more detail share at 1 step than at 2, and 7 % less at 129 steps than at
 * 65), so the envelope erased real differences between prompts; the allocate mode
 * reads exactly those (docs/world-v2.md §7.3). Training is unchanged; the export applies it to
 * the grid outputs (or the dense curve without a grid).
 */
import type { MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";

export type CurveDirection = "falling" | "rising";

/** Which way each metric's curve moves with more steps where it is monotone. */
export const METRIC_DIRECTION: Record<MetricName, CurveDirection> = {
  lsnr: "falling",
  dsim: "falling",
  iclip: "rising",
};

/** The envelope of rows [n, length] (row-major), in float32 like the exported graph. */
export function curveEnvelope(
  rows: Float32Array,
  n: number,
  length: number,
  direction: CurveDirection,
): Float32Array {
  const out = Float32Array.from(rows);
  for (let b = 0; b < n; b++)
    for (let t = length - 2; t >= 0; t--) {
      const i = b * length + t;
      out[i] =
        direction === "falling" ? Math.max(out[i], out[i + 1]) : Math.min(out[i], out[i + 1]);
    }
  return out;
}
