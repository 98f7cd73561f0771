import { describe, expect, it } from "vitest";
import { curveEnvelope } from "./curve-envelope";

describe("curveEnvelope", () => {
  it("turns a late bump on a falling curve into a plateau that ends where the bump does", () => {
    // "a plain white wall": D-SIM 0 everywhere but a bump late; row 2 is already falling.
    const rows = Float32Array.of(0.02, 0, 0, 0.005, 0.001, 0.5, 0.4, 0.2, 0.1, 0);
    const out = Array.from(curveEnvelope(rows, 2, 5, "falling"), (v) => +v.toFixed(4));
    expect(out).toEqual([0.02, 0.005, 0.005, 0.005, 0.001, 0.5, 0.4, 0.2, 0.1, 0]);
  });

  it("bounds a rising curve from below by its later values", () => {
    const out = curveEnvelope(Float32Array.of(0.9, 1, 0.95, 0.97, 1), 1, 5, "rising");
    expect(Array.from(out, (v) => +v.toFixed(4))).toEqual([0.9, 0.95, 0.95, 0.97, 1]);
  });
});
