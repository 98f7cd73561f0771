import { describe, expect, it } from "vitest";
import { curveLoss } from "./curve-loss";

describe("curveLoss", () => {
  it("is the plain sum of squares with weight 0 and adds weighted squared differences", () => {
    const e = [0.5, -1, 2];
    expect(curveLoss(e, 0, 1, 3, 0)).toBeCloseTo(0.25 + 1 + 4, 12);
    // differences: -1.5, 3 -> 2.25 + 9
    expect(curveLoss(e, 0, 1, 3, 2)).toBeCloseTo(5.25 + 2 * 11.25, 12);
  });

  it("reads a strided curve and only that curve", () => {
    // Two interleaved curves [1, 3] and [2, 4] (stride 2).
    const e = [1, 2, 3, 4];
    expect(curveLoss(e, 1, 2, 2, 1)).toBeCloseTo(4 + 16 + 4, 12);
  });

  it("accumulates a gradient equal to central finite differences, scaled", () => {
    const e = Float64Array.from([0.3, -0.7, 0.2, 1.1, -0.4]);
    const out = new Float32Array(10).fill(1);
    curveLoss(e, 0, 1, 5, 1.7, { out, offset: 1, stride: 2, scale: 0.5 });
    for (let t = 0; t < 5; t++) {
      const h = 1e-6;
      const up = Float64Array.from(e);
      const down = Float64Array.from(e);
      up[t] += h;
      down[t] -= h;
      const fd = (curveLoss(up, 0, 1, 5, 1.7) - curveLoss(down, 0, 1, 5, 1.7)) / (2 * h);
      expect(out[1 + 2 * t]).toBeCloseTo(1 + 0.5 * fd, 5);
      expect(out[2 * t]).toBe(1);
    }
  });
});
