import { describe, expect, it } from "vitest";
import { allocationCeiling } from "./allocation-ceiling";

describe("allocationCeiling", () => {
  it("moves steps from a finished prompt to one that still improves", () => {
    // Prompt 0 is done at t = 1; prompt 1 improves by 0.1 per step up to t = 4.
    const done = [1, 1, 1, 1];
    const slow = [0.6, 0.7, 0.8, 0.9];
    const r = allocationCeiling([done, slow], 2);
    expect(r.steps).toEqual([1, 3]);
    // (1/1 - 1 + 0.8/0.7 - 1) / 2
    expect(r.relative_quality).toBeCloseTo((0.8 / 0.7 - 1) / 2, 12);
  });

  it("equals the exhaustive optimum on small random cases and never spends more", () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let c = 0; c < 20; c++) {
      const T = 5;
      const curves = Array.from({ length: 3 }, () => Array.from({ length: T }, () => 0.2 + rand()));
      const uniform = 1 + Math.floor(rand() * T);
      let bestGain = Number.NEGATIVE_INFINITY;
      for (let a = 1; a <= T; a++)
        for (let b = 1; b <= T; b++)
          for (let d = 1; d <= T; d++) {
            if (a + b + d > 3 * uniform) continue;
            const g = [a, b, d].reduce(
              (s, t, i) => s + curves[i][t - 1] / curves[i][uniform - 1] - 1,
              0,
            );
            bestGain = Math.max(bestGain, g / 3);
          }
      const r = allocationCeiling(curves, uniform);
      expect(r.relative_quality).toBeCloseTo(bestGain, 12);
      expect(r.steps.reduce((s, t) => s + t, 0)).toBeLessThanOrEqual(3 * uniform);
      expect(r.relative_quality).toBeGreaterThanOrEqual(0);
    }
  });

  it("rejects a uniform step outside the curves, naming the field", () => {
    expect(() => allocationCeiling([[1, 1]], 3)).toThrow(/uniform/);
  });
});
