/**
 * The allocate mode's weights, chosen on validation prompts (`--allocate-weights auto`).
 *
 * Why: one weighted objective cannot realise every metric's own ceiling when the metrics disagree
 * about which prompts need the steps (docs/world-v2.md §7.4), and which weights balance them
 * depends on the world and on the predictor. Hand-picking them on one world's validation prompts
 * (the first claim run) does not carry to the next, so the chain picks them itself: over a grid on
 * the simplex, the weights whose allocation, priced on the predicted curves for the target mean
 * steps, realises the largest smallest share of the three metrics' ceilings on the measured
 * curves. Only validation prompts may be passed here; the held-out ones never are.
 */
import { ValidationError } from "@budgetfusion/shared/errors";
import { calibrateAllocation } from "@budgetfusion/shared/plateau/allocate";
import { METRIC_NAMES, type MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";
import { allocationRealised, measuredCeilings } from "./allocation-realised";

type Curves = Record<MetricName, ArrayLike<number>>;
type Weights = Record<MetricName, number>;

export interface WeightChoice {
  weights: Weights;
  /** The smallest share of a metric's ceiling the chosen weights realise on these prompts. */
  min_share: number;
  shares: Weights;
  grid_step: number;
  candidates: number;
}

/** Every (w_lsnr, w_dsim, w_iclip) >= 0 summing to 1 in steps of 1 / divisions. */
export function simplexGrid(divisions: number): Weights[] {
  if (!Number.isInteger(divisions) || divisions < 1)
    throw new ValidationError(`divisions must be an integer >= 1, got ${divisions}`, {
      field: "divisions",
    });
  const out: Weights[] = [];
  for (let a = 0; a <= divisions; a++)
    for (let b = 0; a + b <= divisions; b++)
      out.push({
        lsnr: a / divisions,
        dsim: b / divisions,
        iclip: (divisions - a - b) / divisions,
      });
  return out;
}

/**
 * @param predicted per prompt, the predicted dense curves (metric units)
 * @param measured per prompt, the measured dense curves, in the same order
 * @param targetMeanSteps the mean-steps target every candidate is priced for
 * @param divisions grid resolution (20: steps of 0.05)
 */
export function chooseAllocationWeights(
  predicted: readonly Curves[],
  measured: readonly Curves[],
  targetMeanSteps: number,
  divisions = 20,
): WeightChoice {
  if (predicted.length === 0 || predicted.length !== measured.length)
    throw new ValidationError(
      `predicted and measured must hold the same prompts (got ${predicted.length} and ${measured.length})`,
      { field: "predicted" },
    );
  const grid = simplexGrid(divisions);
  // The ceilings depend only on the measured curves and U: one knapsack per metric, not per candidate.
  const ceilings = measuredCeilings(measured, Math.round(targetMeanSteps));
  let best: WeightChoice | undefined;
  for (const weights of grid) {
    const r = allocationRealised(
      predicted,
      measured,
      calibrateAllocation(predicted, targetMeanSteps, weights),
      ceilings,
    );
    const shares = Object.fromEntries(
      METRIC_NAMES.map((m) => [m, r.per_metric[m].fraction_realised]),
    ) as Weights;
    const minShare = Math.min(...METRIC_NAMES.map((m) => shares[m]));
    // NaN (a zero ceiling) never wins; ties keep the earlier grid point, so the choice is stable.
    if (!best || minShare > best.min_share)
      best = {
        weights,
        min_share: minShare,
        shares,
        grid_step: 1 / divisions,
        candidates: grid.length,
      };
  }
  if (!best) throw new ValidationError("no weights to choose from", { field: "divisions" });
  return best;
}
