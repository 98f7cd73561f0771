import { describe, expect, it } from "vitest";
import { curveDeadZone } from "./curve-dead-zone";

describe("curveDeadZone", () => {
  it("moves values within δ of the end onto it and the rest δ towards it, per row", () => {
    const rows = Float32Array.of(0.5, 0.13, 0.11, 0.1, 0.2, 0.21, 0.19, 0.2);
    const out = Array.from(curveDeadZone(rows, 2, 4, 0.05), (v) => +v.toFixed(6));
    expect(out).toEqual([0.45, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.2]);
  });

  it("keeps a monotone curve monotone and its end value, and is the identity at δ = 0", () => {
    const rising = Float32Array.of(0.2, 0.5, 0.7, 0.8, 0.84, 0.85);
    const out = curveDeadZone(rising, 1, 6, 0.1);
    for (let t = 1; t < 6; t++) expect(out[t]).toBeGreaterThanOrEqual(out[t - 1]);
    expect(out[5]).toBe(rising[5]);
    expect(out[3]).toBe(rising[5]); // 0.8 is within 0.1 of 0.85
    expect(curveDeadZone(rising, 1, 6, 0)).toEqual(rising);
  });
});
