/**
 * The edge's `quality` knob: the fewest steps at which every metric's predicted curve has covered
 * a given share of its 1 -> 129-step change and stays there. An alternative to the plateau test of
 * step-budget.ts (SPEC §5) for callers who want to trade quality for compute explicitly; it reads
 * the same dense predicted curves (SPEC §4).
 *
 * Semantics: quality 0.95 = every metric has covered 95% of its predicted 1->129-step change and
 * stays there.
 *
 *   progress_m(t) = (m(t) - m(1)) / (m(129) - m(1))
 *   t_m = min { t : progress_m(t') >= target for every t' >= t }
 *   steps = clamp(max_m t_m, minSteps, maxSteps)
 *
 * The ratio is direction-free: it is the share of the way from m(1) to the reference value m(129)
 * whether the curve falls (L-SNR, D-SIM) or rises (I-CLIP). Requiring the condition for every later
 * t' (not only at t) makes the answer monotone and keeps a noisy curve that briefly touches the
 * target early from stopping there. A metric whose curve never moves (|m(129) - m(1)| < eps, or
 * exactly 0) counts as reached at t = 1.
 */
import { ValidationError } from "../errors";
import { DENSE_STEPS } from "../grid/step-grid";
import { METRIC_NAMES, type MetricName } from "../predictor/bundle-manifest";
import {
  checkMetricCurves,
  clampSteps,
  type MetricCurves,
  resolveBounds,
  type StepBounds,
} from "./curve-input";

/** Default "never moves" tolerance on |m(129) - m(1)|: the plateau floor of one step (SPEC §5). */
const DEFAULT_FLAT_EPS = 5e-4;

export interface QualityTargetOptions extends StepBounds {
  /** A metric with |m(129) - m(1)| below this counts as reached at t = 1 (default 5e-4). */
  eps?: number;
}

export interface QualityTargetSteps {
  /** The step count, clamped to [minSteps, maxSteps]. */
  steps: number;
  /** t_m per metric, before clamping. */
  perMetric: Record<MetricName, number>;
}

/**
 * @param curves per metric, 129 finite values for t = 1..129
 * @param target share of the 1 -> 129 change to reach, in (0, 1]
 */
export function stepsForQuality(
  curves: MetricCurves,
  target: number,
  options: QualityTargetOptions = {},
): QualityTargetSteps {
  if (typeof target !== "number" || !(target > 0 && target <= 1)) {
    throw new ValidationError(`quality target must be in (0, 1], got ${target}`, {
      field: "target",
    });
  }
  const eps = options.eps ?? DEFAULT_FLAT_EPS;
  if (typeof eps !== "number" || !Number.isFinite(eps) || eps < 0) {
    throw new ValidationError(`eps must be a finite number >= 0, got ${eps}`, { field: "eps" });
  }
  const bounds = resolveBounds(options);
  checkMetricCurves(curves);

  const perMetric = {} as Record<MetricName, number>;
  let steps = 1;
  for (const m of METRIC_NAMES) {
    const c = curves[m];
    const first = c[0];
    const span = c[DENSE_STEPS - 1] - first;
    let t = 1;
    if (span !== 0 && Math.abs(span) >= eps) {
      // Walk back from t = 129 (progress exactly 1) while the suffix stays at or above target.
      t = DENSE_STEPS;
      while (t > 1 && (c[t - 2] - first) / span >= target) t--;
    }
    perMetric[m] = t;
    steps = Math.max(steps, t);
  }
  return { steps: clampSteps(steps, bounds), perMetric };
}
