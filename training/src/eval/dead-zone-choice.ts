/**
 * The settled dead zone's δ per metric (model/curve-dead-zone.ts), chosen on validation prompts
 * (`--curve-dead-zone auto`). Only validation prompts may be passed here; the held-out ones never
 * are.
 *
 * Over a grid of δ per metric, each candidate's t* (SPEC §5 on the dead-zoned predicted curves)
 * is scored against the two t* targets of issue 11's point 4 on the measured curves of the same
 * prompts: Spearman(t*, oracle t*) against 0.7, and Eq. 9 of OURS against UNIFORM round(mean t*)
 * against 2 standard errors on every metric. The candidate with the largest smallest margin,
 * min(ρ / 0.7, z_m / 2 for each m), wins; ties keep the smaller δ (grid order), so with nothing
 * to gain the choice is no dead zone.
 */

import { ValidationError } from "@budgetfusion/shared/errors";
import { DENSE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import { metricQuality } from "@budgetfusion/shared/metrics/metric-quality";
import {
  metricPlateauStep,
  type PlateauParams,
  stepBudget,
} from "@budgetfusion/shared/plateau/step-budget";
import { METRIC_NAMES, type MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";
import { curveDeadZone } from "../model/curve-dead-zone";
import { spearman } from "./evaluate";
import { relativeQuality } from "./stat";

type Curves = Record<MetricName, Float32Array>;
type PerMetric = Record<MetricName, number>;

/** δ candidates, in metric units (the same for every metric; all three live in [0, 1]). */
const DEAD_ZONE_GRID = [0, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1] as const;

/** What one δ gives on the prompts it was measured on. */
export interface DeadZoneScore {
  delta: PerMetric;
  spearman: number;
  mean_t_star: number;
  uniform_steps: number;
  /** Eq. 9 of OURS against UNIFORM, mean / stderr, per metric (on the measured curves). */
  z: PerMetric;
  relative_quality: PerMetric;
  /** min(ρ / 0.7, z_m / 2): at least 1 when both t* targets are met. */
  score: number;
}

export interface DeadZoneChoice extends DeadZoneScore {
  /** The same numbers without a dead zone. */
  none: DeadZoneScore;
  grid: readonly number[];
  candidates: number;
  n: number;
}

/** What the dead zone applied to a run's models is, and how it was chosen (models/dead-zone.json). */
export interface DeadZoneRecord {
  /** `--curve-dead-zone` as given: none, auto or δ per metric (L-SNR, D-SIM, I-CLIP). */
  option: "none" | "auto" | number[];
  delta: PerMetric;
  choice?: DeadZoneChoice;
}

function scoreDeadZone(
  delta: PerMetric,
  tStarPerMetric: Record<MetricName, readonly number[]>,
  oracle: readonly number[],
  measured: readonly Curves[],
): DeadZoneScore {
  const n = oracle.length;
  const tStar = oracle.map((_, i) => Math.max(...METRIC_NAMES.map((m) => tStarPerMetric[m][i])));
  const mean = tStar.reduce((a, b) => a + b, 0) / n;
  const uniform = Math.min(DENSE_STEPS, Math.max(1, Math.round(mean)));
  const z = {} as PerMetric;
  const rel = {} as PerMetric;
  for (const m of METRIC_NAMES) {
    const r = relativeQuality(n, (i, w) =>
      metricQuality(m, measured[i][m][(w === "a" ? tStar[i] : uniform) - 1]),
    );
    rel[m] = r.mean;
    z[m] = r.stderr > 0 ? r.mean / r.stderr : r.mean > 0 ? Number.POSITIVE_INFINITY : 0;
  }
  const rho = spearman(tStar, [...oracle]);
  const score = Math.min(
    Number.isNaN(rho) ? Number.NEGATIVE_INFINITY : rho / 0.7,
    ...METRIC_NAMES.map((m) => z[m] / 2),
  );
  return {
    delta,
    spearman: rho,
    mean_t_star: mean,
    uniform_steps: uniform,
    z,
    relative_quality: rel,
    score,
  };
}

/**
 * @param predicted per prompt, the predicted dense curves (metric units, 129 steps)
 * @param measured per prompt, the measured dense curves, in the same order
 * @param rule SPEC §5's weights and floors
 */
export function chooseDeadZone(
  predicted: readonly Curves[],
  measured: readonly Curves[],
  rule: PlateauParams,
  grid: readonly number[] = DEAD_ZONE_GRID,
): DeadZoneChoice {
  if (predicted.length < 2 || predicted.length !== measured.length)
    throw new ValidationError(
      `predicted and measured must hold the same prompts, at least 2 (got ${predicted.length} and ${measured.length})`,
      { field: "predicted" },
    );
  if (grid[0] !== 0) throw new ValidationError("the grid must start at 0", { field: "grid" });
  const n = predicted.length;
  const oracle = measured.map((c) => stepBudget(c, rule).steps);
  // t*_m depends on that metric's δ alone: one pass per metric and δ, then the max per candidate.
  const perMetric = Object.fromEntries(
    METRIC_NAMES.map((m) => [
      m,
      grid.map((delta) =>
        predicted.map((c) =>
          metricPlateauStep(
            curveDeadZone(c[m], 1, DENSE_STEPS, delta),
            rule.weights[m],
            rule.eps[m],
          ),
        ),
      ),
    ]),
  ) as Record<MetricName, number[][]>;
  const at = (k: PerMetric) =>
    scoreDeadZone(
      { lsnr: grid[k.lsnr], dsim: grid[k.dsim], iclip: grid[k.iclip] },
      {
        lsnr: perMetric.lsnr[k.lsnr],
        dsim: perMetric.dsim[k.dsim],
        iclip: perMetric.iclip[k.iclip],
      },
      oracle,
      measured,
    );
  const none = at({ lsnr: 0, dsim: 0, iclip: 0 });
  let best = none;
  for (let a = 0; a < grid.length; a++)
    for (let b = 0; b < grid.length; b++)
      for (let c = 0; c < grid.length; c++) {
        const s = at({ lsnr: a, dsim: b, iclip: c });
        if (s.score > best.score) best = s;
      }
  return { ...best, none, grid: [...grid], candidates: grid.length ** 3, n };
}
