/**
 * The most any per-prompt step allocation could gain over UNIFORM at equal compute, on the
 * measured curves (an evaluation aid beyond SPEC §6; docs/interpretations.md).
 *
 * Why: Eq. 9 compares OURS with UNIFORM at the same mean step count. When even the best possible
 * allocation of that budget gains little, a small or zero gain of OURS says the model leaves no
 * room, not that the predictor failed; when the ceiling is large and OURS is not, the predictor
 * (or the plateau rule) is what falls short. Solved exactly as a multiple-choice knapsack by
 * dynamic programming over the total step budget (prompts x budget x 129 operations).
 */
import { ValidationError } from "@budgetfusion/shared/errors";

export interface AllocationCeiling {
  /** Mean over prompts of q_i(t_i) / q_i(uniform) - 1 for the best allocation. */
  relative_quality: number;
  /** The best allocation's step counts, one per prompt (their mean <= uniform). */
  steps: number[];
}

/**
 * @param qualities per prompt, q(t) at t = 1..T (index t - 1), higher is better
 * @param uniform the UNIFORM step count; the allocation may spend at most n * uniform steps
 */
export function allocationCeiling(
  qualities: readonly ArrayLike<number>[],
  uniform: number,
): AllocationCeiling {
  const n = qualities.length;
  if (n === 0)
    throw new ValidationError("qualities: need at least one prompt", { field: "qualities" });
  const T = qualities[0].length;
  if (!Number.isInteger(uniform) || uniform < 1 || uniform > T)
    throw new ValidationError(`uniform must be an integer step in 1..${T}, got ${uniform}`, {
      field: "uniform",
    });
  // Gain of prompt i at t steps relative to its UNIFORM quality (Eq. 9's summand). A prompt with
  // q(uniform) = 0 has no defined ratio; it is held at UNIFORM (gain 0), as Eq. 9 skips it.
  const gain = qualities.map((q) => {
    const base = q[uniform - 1];
    return Array.from({ length: T }, (_, t) =>
      base === 0 ? (t + 1 === uniform ? 0 : -Infinity) : q[t] / base - 1,
    );
  });
  const budget = n * uniform;
  // best[b] = max total gain of the prompts so far using exactly b steps; choice[i][b] = t.
  let best = new Float64Array(budget + 1).fill(Number.NEGATIVE_INFINITY);
  best[0] = 0;
  const choice: Uint16Array[] = [];
  for (let i = 0; i < n; i++) {
    const next = new Float64Array(budget + 1).fill(Number.NEGATIVE_INFINITY);
    const pick = new Uint16Array(budget + 1);
    for (let b = 0; b <= budget; b++) {
      if (best[b] === Number.NEGATIVE_INFINITY) continue;
      for (let t = 1; t <= T && b + t <= budget; t++) {
        const v = best[b] + gain[i][t - 1];
        if (v > next[b + t]) {
          next[b + t] = v;
          pick[b + t] = t;
        }
      }
    }
    choice.push(pick);
    best = next;
  }
  let end = 0;
  for (let b = 1; b <= budget; b++) if (best[b] > best[end]) end = b;
  const steps = new Array<number>(n);
  for (let i = n - 1, b = end; i >= 0; i--) {
    steps[i] = choice[i][b];
    b -= steps[i];
  }
  return { relative_quality: best[end] / n, steps };
}
