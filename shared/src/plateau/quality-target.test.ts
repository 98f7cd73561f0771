import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stepsForQuality } from "./quality-target";

const dense = (f: (k: number) => number) => Float64Array.from({ length: 129 }, (_, k) => f(k));

// Curves chosen so every progress value is an exact binary fraction (k = t - 1):
// L-SNR falls linearly: m = 1 - k/128, progress(t) = k/128.
// I-CLIP rises and saturates at t = 33: m = .5 + .25 min(1, k/32), progress(t) = min(1, k/32).
// D-SIM never moves.
const lsnr = dense((k) => 1 - k / 128);
const iclip = dense((k) => 0.5 + 0.25 * Math.min(1, k / 32));
const dsim = dense(() => 0.3);
const curves = { lsnr, dsim, iclip };

describe("stepsForQuality, hand-computed", () => {
  it("target .5: L-SNR k/128 >= .5 at k = 64 (t = 65); I-CLIP k/32 >= .5 at k = 16 (t = 17)", () => {
    expect(stepsForQuality(curves, 0.5)).toEqual({
      steps: 65,
      perMetric: { lsnr: 65, dsim: 1, iclip: 17 },
    });
  });

  it("target .95: k >= 121.6 -> t = 123 for L-SNR; k >= 30.4 -> t = 32 for I-CLIP", () => {
    expect(stepsForQuality(curves, 0.95)).toEqual({
      steps: 123,
      perMetric: { lsnr: 123, dsim: 1, iclip: 32 },
    });
  });

  it("target 1: the first step that reaches the reference value for good", () => {
    expect(stepsForQuality(curves, 1).perMetric).toEqual({ lsnr: 129, dsim: 1, iclip: 33 });
  });

  it("clamps to the caller's bounds", () => {
    expect(stepsForQuality(curves, 0.5, { maxSteps: 40 }).steps).toBe(40);
    expect(stepsForQuality({ lsnr: dsim, dsim, iclip: dsim }, 0.5, { minSteps: 9 }).steps).toBe(9);
  });

  it("a noisy curve that touches the target early and falls back does not stop there", () => {
    // progress: .9 at t = 5 only, then back to .1 until t = 50, where it jumps to 1 for good.
    const noisy = dense((k) => (k === 4 ? 0.9 : k >= 49 ? 1 : 0.1));
    expect(stepsForQuality({ lsnr: noisy, dsim, iclip: dsim }, 0.8).steps).toBe(50);
  });

  it("a change below eps counts as reached at t = 1", () => {
    // m = .25 + k/2^20 (exact): total change 128/2^20 = 1.2e-4 < 5e-4; progress = k/128.
    const tiny = dense((k) => 0.25 + k / 2 ** 20);
    expect(stepsForQuality({ lsnr: tiny, dsim, iclip: dsim }, 0.9).steps).toBe(1);
    expect(stepsForQuality({ lsnr: tiny, dsim, iclip: dsim }, 0.5, { eps: 0 }).steps).toBe(65);
  });

  it("rejects bad targets and curves naming the field", () => {
    for (const bad of [0, -0.1, 1.01, Number.NaN]) {
      expect(() => stepsForQuality(curves, bad)).toThrow(
        expect.objectContaining({ name: "ValidationError", field: "target" }),
      );
    }
    expect(() => stepsForQuality({ ...curves, lsnr: new Float64Array(12) }, 0.5)).toThrow(
      expect.objectContaining({ name: "ShapeError", field: "curves.lsnr" }),
    );
    expect(() => stepsForQuality(curves, 0.5, { minSteps: 5, maxSteps: 4 })).toThrow(
      expect.objectContaining({ field: "minSteps" }),
    );
    expect(() => stepsForQuality(curves, 0.5, { eps: -1 })).toThrow(
      expect.objectContaining({ field: "eps" }),
    );
  });
});

describe("stepsForQuality properties", () => {
  const curveArb = fc
    .array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 129, maxLength: 129 })
    .map((a) => Float64Array.from(a));
  const targetArb = fc.double({ min: 0.01, max: 1, noNaN: true });

  it("is monotone in the target and stays in bounds", () => {
    fc.assert(
      fc.property(curveArb, curveArb, curveArb, targetArb, targetArb, (l, d, i, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const sLo = stepsForQuality({ lsnr: l, dsim: d, iclip: i }, lo);
        const sHi = stepsForQuality({ lsnr: l, dsim: d, iclip: i }, hi);
        expect(sLo.steps).toBeLessThanOrEqual(sHi.steps);
        expect(sHi.steps).toBeGreaterThanOrEqual(1);
        expect(sHi.steps).toBeLessThanOrEqual(129);
      }),
      { numRuns: 200 },
    );
  });

  it("every metric stays at or above the target from the returned step on", () => {
    fc.assert(
      fc.property(curveArb, targetArb, (c, target) => {
        const { steps } = stepsForQuality({ lsnr: c, dsim: c, iclip: c }, target, { eps: 0 });
        const span = c[128] - c[0];
        if (span === 0) return;
        for (let t = steps; t <= 129; t++) {
          expect((c[t - 1] - c[0]) / span).toBeGreaterThanOrEqual(target);
        }
      }),
      { numRuns: 200 },
    );
  });
});
