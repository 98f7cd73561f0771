/**
 * Reference predictors for Table 1 (beyond SPEC §6): what a curve predictor achieves without
 * learning. Why: an MAE means little alone. "mean_curve" ignores the prompt (the average training
 * curve), so a learned predictor that does not beat it has not used the prompt; "knn" averages
 * the curves of the k training prompts whose embeddings are most similar (cosine), the simplest
 * predictor that does use it, so the gap between the two says how much the prompt embedding
 * determines the curves at all.
 */
import { DENSE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import { METRIC_NAMES, type MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";

export interface CurveRows {
  ids: readonly number[];
  /** [n, width] L2-normalised prompt embeddings. */
  embeddings: Float32Array;
  /** Dense curves [n, 129] per metric. */
  targets: Record<MetricName, Float32Array>;
}

export type BaselineCurves = Record<MetricName, Float32Array>;

/** The mean training curve for every test prompt, [nTest, 129] per metric. */
export function meanCurveBaseline(train: CurveRows, nTest: number): BaselineCurves {
  const n = train.ids.length;
  return Object.fromEntries(
    METRIC_NAMES.map((m) => {
      const mean = new Float64Array(DENSE_STEPS);
      for (let i = 0; i < n; i++)
        for (let t = 0; t < DENSE_STEPS; t++) mean[t] += train.targets[m][i * DENSE_STEPS + t] / n;
      const out = new Float32Array(nTest * DENSE_STEPS);
      for (let j = 0; j < nTest; j++) out.set(mean, j * DENSE_STEPS);
      return [m, out];
    }),
  ) as BaselineCurves;
}

/** Mean curve of the k most similar training prompts (cosine of embeddings), [nTest, 129]. */
export function knnBaseline(
  train: CurveRows,
  test: Pick<CurveRows, "ids" | "embeddings">,
  width: number,
  k: number,
): BaselineCurves {
  const n = train.ids.length;
  const kk = Math.min(k, n);
  const neighbours = test.ids.map((_, j) => {
    const q = test.embeddings.subarray(j * width, (j + 1) * width);
    const sims = Array.from({ length: n }, (_, i) => {
      let s = 0;
      for (let d = 0; d < width; d++) s += q[d] * train.embeddings[i * width + d];
      return { i, s };
    });
    // Ties broken by training order so the result is deterministic.
    sims.sort((a, b) => b.s - a.s || a.i - b.i);
    return sims.slice(0, kk).map((x) => x.i);
  });
  return Object.fromEntries(
    METRIC_NAMES.map((m) => {
      const out = new Float32Array(test.ids.length * DENSE_STEPS);
      neighbours.forEach((nb, j) => {
        for (const i of nb)
          for (let t = 0; t < DENSE_STEPS; t++)
            out[j * DENSE_STEPS + t] += train.targets[m][i * DENSE_STEPS + t] / kk;
      });
      return [m, out];
    }),
  ) as BaselineCurves;
}
