import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ShapeError, ValidationError } from "../errors";
import { DEFAULT_PLATEAU, metricPlateauStep, stepBudget } from "./step-budget";

/** A dense curve over t = 1..129 from a function of t. */
const dense = (f: (t: number) => number) => Float64Array.from({ length: 129 }, (_, i) => f(i + 1));
/** 0 before step k, 1 from step k on: the only change is d(k) = 1. */
const jumpAt = (k: number) => dense((t) => (t >= k ? 1 : 0));
const flat = dense(() => 0.42);

describe("metricPlateauStep, hand-computed", () => {
  // curve t=1..5: 0, 1, 1.5, 1.75, 1.875  ->  d(2..5) = 1, .5, .25, .125
  // median(d) = (.25 + .5)/2 = .375; mean = 1.875/4 = .46875
  // deviations .53125, .03125, -.21875, -.34375; squares .2822265625, .0009765625,
  // .0478515625, .1181640625; population variance = .44921875/4 = .1123046875; std = .3351189...
  const curve = [0, 1, 1.5, 1.75, 1.875];

  it("w = .3: thr = .375 + .3 * .33512 = .47554; d(3) = .5 >= thr, d(4) = .25 < thr -> 3", () => {
    expect(metricPlateauStep(curve, 0.3, 0)).toBe(3);
  });
  it("w = .5: thr = .375 + .5 * .33512 = .54256; only d(2) = 1 passes -> 2", () => {
    expect(metricPlateauStep(curve, 0.5, 0)).toBe(2);
  });
  it("w = 0: thr = median = .375; d(3) = .5 passes, d(4) = .25 does not -> 3", () => {
    expect(metricPlateauStep(curve, 0, 0)).toBe(3);
  });
  it("the floor eps takes over when above the relative threshold", () => {
    expect(metricPlateauStep(curve, 0.3, 0.6)).toBe(2); // thr = .6: only d(2) = 1
    expect(metricPlateauStep(curve, 0.3, 0.2)).toBe(3); // thr stays .47554
    expect(metricPlateauStep(curve, 0.3, 2)).toBe(1); // nothing reaches 2 -> 1
  });
  it("d(t) >= thr is inclusive: w = 0, eps = .5 gives thr = max(.375, .5) = d(3) -> 3", () => {
    expect(metricPlateauStep(curve, 0, 0.5)).toBe(3);
  });
  it("is direction-free (|change|): a falling curve gives the same step", () => {
    expect(
      metricPlateauStep(
        curve.map((x) => -x),
        0.3,
        0,
      ),
    ).toBe(3);
  });
});

describe("metricPlateauStep, edge cases", () => {
  it("flat curve -> 1, with or without the floor", () => {
    expect(metricPlateauStep(flat, 0.3, 5e-4)).toBe(1);
    expect(metricPlateauStep(flat, 0.3, 0)).toBe(1);
    expect(metricPlateauStep(flat, 0, 0)).toBe(1);
  });

  it("single jump at step k -> k", () => {
    // d = 1 at k, 0 elsewhere: median 0, std = sqrt(1/128 - 1/128^2) = .0880, thr < 1.
    for (const k of [2, 3, 17, 64, 128, 129]) {
      expect(metricPlateauStep(jumpAt(k), 0.5, 5e-4)).toBe(k);
      expect(metricPlateauStep(jumpAt(k), 0, 0)).toBe(k);
    }
  });

  it("noisy saturating curve: the floor decides where the decay drops below eps", () => {
    // m(t) = exp(-(t-1)/3) + noise, |noise| <= 5e-7, so |noise change| <= 1e-6.
    // Noise-free d(t) = exp(-(t-2)/3) (1 - exp(-1/3)): d(21) = 5.035e-4, d(22) = 3.608e-4.
    // With w = 0, thr = max(median(d), 5e-4) and median(d) is ~1e-6 (most steps are noise), so
    // thr = 5e-4 and t* = 21 (d(21) stays >= 5.025e-4 with noise, d(22) <= 3.62e-4).
    const noise = (t: number) => 5e-7 * Math.sin(t * 78.233); // deterministic pseudo-noise
    const curve = dense((t) => Math.exp(-(t - 1) / 3) + noise(t));
    expect(metricPlateauStep(curve, 0, 5e-4)).toBe(21);
    // Without the floor the noise itself (d ~ 1e-7..1e-6 everywhere) sets a late t*, the failure
    // SPEC §5's eps exists for.
    expect(metricPlateauStep(curve, 0, 0)).toBeGreaterThan(100);
  });

  it("rejects NaN, Infinity, short curves and bad parameters naming the field", () => {
    expect(() => metricPlateauStep([0, Number.NaN, 1], 0.3, 0)).toThrow(
      expect.objectContaining({ name: "ValidationError", field: "curve[1]" }),
    );
    expect(() => metricPlateauStep([0, Number.POSITIVE_INFINITY], 0.3, 0)).toThrow(ValidationError);
    expect(() => metricPlateauStep([1], 0.3, 0)).toThrow(
      expect.objectContaining({ field: "curve" }),
    );
    expect(() => metricPlateauStep([0, 1], -1, 0)).toThrow(
      expect.objectContaining({ field: "weight" }),
    );
    expect(() => metricPlateauStep([0, 1], 0.3, Number.NaN)).toThrow(
      expect.objectContaining({ field: "eps" }),
    );
  });
});

describe("stepBudget", () => {
  it("has SPEC §5's defaults", () => {
    expect(DEFAULT_PLATEAU.weights).toEqual({ lsnr: 0.3, dsim: 0.2, iclip: 0.5 });
    expect(DEFAULT_PLATEAU.eps).toEqual({ lsnr: 5e-4, dsim: 5e-4, iclip: 5e-4 });
  });

  it("takes the max over metrics, then clamps to the caller's bounds", () => {
    const curves = { lsnr: jumpAt(10), dsim: jumpAt(40), iclip: flat };
    expect(stepBudget(curves)).toEqual({ steps: 40, perMetric: { lsnr: 10, dsim: 40, iclip: 1 } });
    expect(stepBudget(curves, { maxSteps: 30 }).steps).toBe(30);
    expect(stepBudget(curves, { minSteps: 50 }).steps).toBe(50);
    expect(stepBudget(curves, { minSteps: 40, maxSteps: 40 }).steps).toBe(40);
  });

  it("applies per-metric weights and eps (a number applies to all)", () => {
    // curve of the hand-computed example padded with a flat tail: d = 1, .5, .25, .125, 0 x 124.
    // median 0; with w = 0 and eps = .3: thr = .3 -> t* = 3; eps = 0.2 -> 4.
    const c = dense((t) => [0, 1, 1.5, 1.75, 1.875][Math.min(t, 5) - 1]);
    const curves = { lsnr: c, dsim: flat, iclip: flat };
    expect(stepBudget(curves, { weights: { lsnr: 0 }, eps: { lsnr: 0.3 } }).steps).toBe(3);
    expect(stepBudget(curves, { weights: { lsnr: 0 }, eps: 0.2 }).steps).toBe(4);
    expect(stepBudget(curves, { weights: { lsnr: 0 }, eps: 5 }).steps).toBe(1);
  });

  it("eps 0 (no floor) works and never returns earlier than with the floor", () => {
    const curves = { lsnr: dense((t) => Math.exp(-t / 4)), dsim: flat, iclip: flat };
    const withFloor = stepBudget(curves).steps;
    const noFloor = stepBudget(curves, { eps: 0 }).steps;
    expect(noFloor).toBeGreaterThanOrEqual(withFloor);
  });

  it("rejects bad input naming the field", () => {
    const ok = { lsnr: flat, dsim: flat, iclip: flat };
    const nan = dense((t) => (t === 7 ? Number.NaN : 0));
    expect(() => stepBudget({ ...ok, dsim: nan })).toThrow(
      expect.objectContaining({ name: "ValidationError", field: "curves.dsim[6]" }),
    );
    expect(() => stepBudget({ ...ok, iclip: new Float64Array(65) })).toThrow(ShapeError);
    expect(() => stepBudget({ ...ok, iclip: new Float64Array(65) })).toThrow(
      expect.objectContaining({ field: "curves.iclip" }),
    );
    const missing = { lsnr: flat, dsim: flat } as unknown as typeof ok;
    expect(() => stepBudget(missing)).toThrow(expect.objectContaining({ field: "curves.iclip" }));
    expect(() => stepBudget(ok, { minSteps: 20, maxSteps: 10 })).toThrow(
      expect.objectContaining({ field: "minSteps" }),
    );
    expect(() => stepBudget(ok, { maxSteps: 130 })).toThrow(
      expect.objectContaining({ field: "maxSteps" }),
    );
    expect(() => stepBudget(ok, { minSteps: 1.5 })).toThrow(
      expect.objectContaining({ field: "minSteps" }),
    );
    expect(() => stepBudget(ok, { weights: { iclip: Number.NaN } })).toThrow(
      expect.objectContaining({ field: "weights.iclip" }),
    );
    expect(() => stepBudget(ok, { eps: { dsim: -1 } })).toThrow(
      expect.objectContaining({ field: "eps.dsim" }),
    );
  });
});

describe("stepBudget properties", () => {
  const curveArb = fc
    .array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 129, maxLength: 129 })
    .map((a) => Float64Array.from(a));
  const paramArb = fc.record({
    w: fc.double({ min: 0, max: 2, noNaN: true }),
    eps: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.1, noNaN: true })),
  });

  it("t* always lies within [minSteps, maxSteps]", () => {
    fc.assert(
      fc.property(
        curveArb,
        curveArb,
        curveArb,
        fc.integer({ min: 1, max: 129 }),
        fc.integer({ min: 1, max: 129 }),
        paramArb,
        (lsnr, dsim, iclip, a, b, p) => {
          const [minSteps, maxSteps] = a <= b ? [a, b] : [b, a];
          const { steps } = stepBudget(
            { lsnr, dsim, iclip },
            { minSteps, maxSteps, eps: p.eps, weights: { lsnr: p.w, dsim: p.w, iclip: p.w } },
          );
          expect(steps).toBeGreaterThanOrEqual(minSteps);
          expect(steps).toBeLessThanOrEqual(maxSteps);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("a curve constant after step k never yields t* > k", () => {
    fc.assert(
      fc.property(curveArb, fc.integer({ min: 1, max: 129 }), paramArb, (raw, k, p) => {
        const curve = raw.map((x, i) => (i + 1 > k ? raw[k - 1] : x));
        expect(metricPlateauStep(curve, p.w, p.eps)).toBeLessThanOrEqual(k);
        const { steps, perMetric } = stepBudget(
          { lsnr: curve, dsim: curve, iclip: curve },
          { eps: p.eps },
        );
        expect(steps).toBeLessThanOrEqual(k);
        expect(Math.max(...Object.values(perMetric))).toBeLessThanOrEqual(k);
      }),
      { numRuns: 300 },
    );
  });
});
