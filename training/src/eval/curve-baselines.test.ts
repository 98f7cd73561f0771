import { DENSE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import { describe, expect, it } from "vitest";
import { type CurveRows, knnBaseline, meanCurveBaseline } from "./curve-baselines";

function rows(embeddings: number[][], levels: number[]): CurveRows {
  const n = levels.length;
  const curve = (v: number) =>
    Float32Array.from(
      { length: n * DENSE_STEPS },
      (_, k) => levels[Math.floor(k / DENSE_STEPS)] * v,
    );
  return {
    ids: levels.map((_, i) => i),
    embeddings: Float32Array.from(embeddings.flat()),
    targets: { lsnr: curve(1), dsim: curve(0.5), iclip: curve(2) },
  };
}

describe("curve baselines", () => {
  const train = rows(
    [
      [1, 0],
      [0.8, 0.6],
      [0, 1],
    ],
    [0.1, 0.2, 0.9],
  );

  it("mean_curve gives every test prompt the average training curve", () => {
    const b = meanCurveBaseline(train, 2);
    expect(b.lsnr).toHaveLength(2 * DENSE_STEPS);
    expect(b.lsnr[0]).toBeCloseTo(0.4, 6);
    expect(b.lsnr[2 * DENSE_STEPS - 1]).toBeCloseTo(0.4, 6);
    expect(b.iclip[5]).toBeCloseTo(0.8, 6);
  });

  it("knn averages the curves of the most similar training prompts", () => {
    const test = { ids: [7, 8], embeddings: Float32Array.of(1, 0, 0, 1) };
    const b = knnBaseline(train, test, 2, 2);
    // Prompt 7 is nearest to rows 0 (cos 1) and 1 (cos .8); prompt 8 to rows 2 (1) and 1 (.6).
    expect(b.lsnr[0]).toBeCloseTo(0.15, 6);
    expect(b.lsnr[DENSE_STEPS]).toBeCloseTo(0.55, 6);
    expect(b.dsim[DENSE_STEPS + 3]).toBeCloseTo(0.275, 6);
    // k larger than the training set uses all of it.
    expect(knnBaseline(train, test, 2, 10).lsnr[0]).toBeCloseTo(0.4, 6);
  });
});
