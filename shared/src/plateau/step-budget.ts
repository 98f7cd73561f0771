/**
 * The step budget t* (SPEC §5, paper Sec. 3.4 Eq. 7): per metric, the last step whose change on
 * the dense predicted curve is still "significant" against the curve's own spread of changes
 * (a gradient-based plateau test after Engbert & Mergenthaler), then the max over metrics.
 *
 *   d_m(t)  = |m(t) - m(t-1)|                                  t = 2..129
 *   thr_m   = max(median(d_m) + w_m * std(d_m), eps_m)          population std
 *   t*_m    = max { t : d_m(t) >= thr_m }                       1 if empty
 *   t*      = clamp(max_m t*_m, minSteps, maxSteps)
 *
 * SPEC §5 Decision: Eq. 7 is applied to the per-step change, not to m(t) itself, and the absolute
 * floor eps_m (default 5e-4) keeps a nearly flat curve from getting a late t*; eps 0 gives the
 * paper's rule without the floor (the evaluation reports both).
 *
 * Implementation decision (degenerate case only): a step with no change at all (d(t) = 0) never
 * counts as significant. It matters only when thr = 0 (eps 0 and median + w*std = 0), where the
 * literal rule would call a perfectly flat tail "significant" and return 129.
 */
import { ValidationError } from "../errors";
import { METRIC_NAMES, type MetricName } from "../predictor/bundle-manifest";
import {
  checkCurve,
  checkMetricCurves,
  clampSteps,
  type MetricCurves,
  resolveBounds,
  type StepBounds,
} from "./curve-input";

export interface PlateauParams {
  weights: Record<MetricName, number>;
  eps: Record<MetricName, number>;
}

/** SPEC §5 defaults: w = {L-SNR .3, D-SIM .2, I-CLIP .5}, eps 5e-4 per step for every metric. */
export const DEFAULT_PLATEAU: Readonly<PlateauParams> = Object.freeze({
  weights: Object.freeze({ lsnr: 0.3, dsim: 0.2, iclip: 0.5 }),
  eps: Object.freeze({ lsnr: 5e-4, dsim: 5e-4, iclip: 5e-4 }),
});

export interface StepBudgetOptions extends StepBounds {
  /** Per-metric weight w_m (finite, >= 0); missing metrics take DEFAULT_PLATEAU's. */
  weights?: Partial<Record<MetricName, number>>;
  /** Per-metric floor eps_m (finite, >= 0), or one value for all; 0 disables the floor. */
  eps?: Partial<Record<MetricName, number>> | number;
}

export interface StepBudget {
  /** t*, clamped to [minSteps, maxSteps]. */
  steps: number;
  /** t*_m per metric, before clamping. */
  perMetric: Record<MetricName, number>;
}

function median(sorted: Float64Array): number {
  const n = sorted.length;
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function checkParam(v: number, field: string): void {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new ValidationError(`${field} must be a finite number >= 0, got ${v}`, { field });
  }
}

/**
 * t*_m of one dense curve (index i = step i + 1), per the rule in the module header.
 *
 * @param curve metric values at t = 1..n (n >= 2; 129 for the predictor's dense curve)
 * @param weight w_m >= 0
 * @param eps absolute floor eps_m >= 0 on the threshold (metric units per step)
 * @returns a step in 1..n
 */
export function metricPlateauStep(curve: ArrayLike<number>, weight: number, eps: number): number {
  checkCurve(curve, "curve");
  if (curve.length < 2) {
    throw new ValidationError(`curve needs at least 2 steps, got ${curve.length}`, {
      field: "curve",
    });
  }
  checkParam(weight, "weight");
  checkParam(eps, "eps");

  const d = new Float64Array(curve.length - 1); // d[j] = d(t) with t = j + 2
  let mean = 0;
  for (let j = 0; j < d.length; j++) {
    d[j] = Math.abs(curve[j + 1] - curve[j]);
    mean += d[j];
  }
  mean /= d.length;
  let variance = 0;
  for (const x of d) variance += (x - mean) ** 2;
  const std = Math.sqrt(variance / d.length); // population std (SPEC §5)
  const thr = Math.max(median(Float64Array.from(d).sort()) + weight * std, eps);

  for (let j = d.length - 1; j >= 0; j--) {
    if (d[j] > 0 && d[j] >= thr) return j + 2;
  }
  return 1;
}

function resolveParams(options: StepBudgetOptions): PlateauParams {
  const weights = { ...DEFAULT_PLATEAU.weights };
  const eps = { ...DEFAULT_PLATEAU.eps };
  for (const m of METRIC_NAMES) {
    const w = options.weights?.[m];
    if (w !== undefined) {
      checkParam(w, `weights.${m}`);
      weights[m] = w;
    }
    const e = typeof options.eps === "number" ? options.eps : options.eps?.[m];
    if (e !== undefined) {
      checkParam(e, typeof options.eps === "number" ? "eps" : `eps.${m}`);
      eps[m] = e;
    }
  }
  return { weights, eps };
}

/**
 * The step budget t* from the predicted dense curves of all three metrics.
 *
 * @param curves per metric, 129 finite values for t = 1..129
 * @param options weights/eps override DEFAULT_PLATEAU per metric; bounds default to [1, 129]
 */
export function stepBudget(curves: MetricCurves, options: StepBudgetOptions = {}): StepBudget {
  const bounds = resolveBounds(options);
  const params = resolveParams(options);
  checkMetricCurves(curves);
  const perMetric = {} as Record<MetricName, number>;
  let steps = 1;
  for (const m of METRIC_NAMES) {
    perMetric[m] = metricPlateauStep(curves[m], params.weights[m], params.eps[m]);
    steps = Math.max(steps, perMetric[m]);
  }
  return { steps: clampSteps(steps, bounds), perMetric };
}
