/**
 * How closely an edge form (bundle-manifest.ts `edge_form`) reproduces its teacher, and the bar
 * it must clear to be served. Training measures it on validation prompts and records it in the
 * manifest; the edge measures it again at upload on the bundle's probe prompts and refuses a
 * bundle below the bar, or one whose probe contradicts what the manifest records.
 */
import { type PlateauParams, stepBudget } from "../plateau/step-budget";
import { type EdgeFormAgreement, METRIC_NAMES, type MetricName } from "./bundle-manifest";

/**
 * The bar, by form. A distilled student must put t* within 3 steps of the teacher's for 95% of
 * prompts (the paper's t* grid is coarser than that above 9 steps: 9, 17, 22, ...) and within
 * 1 step for 80%, with a curve MAE under 0.01 (metrics live in [0, 1]). An exact form differs
 * only by float rounding, so its curves must agree to 1e-5 and every t* within 1 step (a
 * rounding-size change can still move a step sitting exactly on its threshold).
 */
export const EDGE_FORM_THRESHOLDS = {
  distilled: { t_star_within_1: 0.8, t_star_within_3: 0.95, curve_mae: 0.01 },
  exact: { t_star_within_1: 1, t_star_within_3: 1, curve_mae: 1e-5 },
} as const;
export type EdgeFormKind = keyof typeof EDGE_FORM_THRESHOLDS;

/** Per-prompt curves in model-output layout: [dense, 3] rows, metric m at column m. */
function curvesOf(scores: Float32Array, offset: number, dense: number) {
  const out = {} as Record<MetricName, Float32Array>;
  METRIC_NAMES.forEach((m, k) => {
    out[m] = Float32Array.from({ length: dense }, (_, i) => scores[offset + i * 3 + k]);
  });
  return out;
}

/**
 * Agreement of `candidate` with `teacher`, both [prompts, dense, 3] in METRIC_NAMES order.
 * @param plateau the bundle's plateau params (t* as the edge computes it)
 */
export function measureAgreement(
  teacher: Float32Array,
  candidate: Float32Array,
  prompts: number,
  dense: number,
  plateau: PlateauParams,
): EdgeFormAgreement {
  const per = dense * 3;
  if (teacher.length !== prompts * per || candidate.length !== prompts * per) {
    throw new RangeError(
      `agreement needs ${prompts} x ${dense} x 3 values, got ${teacher.length} and ${candidate.length}`,
    );
  }
  let absSum = 0;
  for (let i = 0; i < teacher.length; i++) absSum += Math.abs(teacher[i] - candidate[i]);
  let within1 = 0;
  let within3 = 0;
  let worst = 0;
  for (let p = 0; p < prompts; p++) {
    const t = stepBudget(curvesOf(teacher, p * per, dense), plateau).steps;
    const c = stepBudget(curvesOf(candidate, p * per, dense), plateau).steps;
    const diff = Math.abs(t - c);
    if (diff <= 1) within1++;
    if (diff <= 3) within3++;
    worst = Math.max(worst, diff);
  }
  return {
    prompts,
    curve_mae: absSum / teacher.length,
    t_star_within_1: within1 / prompts,
    t_star_within_3: within3 / prompts,
    worst_t_star_diff: worst,
  };
}

/** The first threshold `agreement` misses, as a sentence naming it; undefined when it passes. */
export function agreementShortfall(
  kind: EdgeFormKind,
  agreement: EdgeFormAgreement,
): string | undefined {
  const bar = EDGE_FORM_THRESHOLDS[kind];
  const name = `EDGE_FORM_THRESHOLDS.${kind}`;
  if (agreement.t_star_within_1 < bar.t_star_within_1)
    return `t_star_within_1 ${agreement.t_star_within_1} is below ${name}.t_star_within_1 = ${bar.t_star_within_1}`;
  if (agreement.t_star_within_3 < bar.t_star_within_3)
    return `t_star_within_3 ${agreement.t_star_within_3} is below ${name}.t_star_within_3 = ${bar.t_star_within_3}`;
  if (!(agreement.curve_mae <= bar.curve_mae))
    return `curve_mae ${agreement.curve_mae} is above ${name}.curve_mae = ${bar.curve_mae}`;
  return undefined;
}
