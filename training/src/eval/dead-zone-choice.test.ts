import { DENSE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import { DEFAULT_PLATEAU } from "@budgetfusion/shared/plateau/step-budget";
import type { MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";
import { splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { describe, expect, it } from "vitest";
import { chooseDeadZone } from "./dead-zone-choice";

type Curves = Record<MetricName, Float32Array>;
const rule = { weights: DEFAULT_PLATEAU.weights, eps: DEFAULT_PLATEAU.eps };

/** A saturating curve of every metric that settles with time constant tau (steps). */
function settling(tau: number, amplitude = 1): Curves {
  const f = (lo: number, hi: number) =>
    Float32Array.from(
      { length: DENSE_STEPS },
      (_, i) => hi + amplitude * (lo - hi) * Math.exp(-i / tau),
    );
  return { lsnr: f(0.5, 0.7), dsim: f(0.6, 0), iclip: f(0.3, 1) };
}

/** The same curve with a late bump of `size` around step 60, as a network's tail wiggle. */
function withLateBump(c: Curves, size: number): Curves {
  const bump = (y: Float32Array) =>
    y.map((v, i) => v + size * Math.exp(-(((i + 1 - 60) / 6) ** 2)));
  return { lsnr: bump(c.lsnr), dsim: bump(c.dsim), iclip: bump(c.iclip) };
}

describe("chooseDeadZone", () => {
  const r = splitMix32Random(7);
  // Half of the prompts are done at once (a change of 0.2 % in all), half settle over 2-14 steps.
  const taus = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 0.5 : 2 + 12 * r.uniform(0, 1)));
  const measured = taus.map((tau) => settling(tau, tau < 1 ? 0.002 : 1));

  it("takes a dead zone that hides small late wiggles, raising Spearman(t*, oracle t*)", () => {
    // Fast prompts get a late bump of 0.01: t* lands on it unless the dead zone covers it.
    const predicted = measured.map((c, i) => (taus[i] < 1 ? withLateBump(c, 0.01) : c));
    const choice = chooseDeadZone(predicted, measured, rule);
    expect(choice.none.spearman).toBeLessThan(0.5);
    expect(choice.spearman).toBeGreaterThan(0.9);
    expect(choice.score).toBeGreaterThan(choice.none.score);
    for (const m of ["lsnr", "dsim", "iclip"] as const)
      expect(choice.delta[m]).toBeGreaterThanOrEqual(0.01);
    expect(choice.mean_t_star).toBeLessThan(choice.none.mean_t_star);
    expect(choice.candidates).toBe(9 ** 3);
    expect(choice.n).toBe(40);
  });

  it("never scores below no dead zone, and keeps none when every candidate ties", () => {
    const predicted = measured.map((c, i) => (i % 3 === 0 ? withLateBump(c, 0.004) : c));
    const choice = chooseDeadZone(predicted, measured, rule);
    expect(choice.score).toBeGreaterThanOrEqual(choice.none.score);
    expect(choice.none.delta).toEqual({ lsnr: 0, dsim: 0, iclip: 0 });
    // Flat predicted curves give t* = 1 for every prompt and δ: nothing to rank, nothing chosen.
    const flat = measured.map((c) => ({
      lsnr: c.lsnr.map(() => c.lsnr[128]),
      dsim: c.dsim.map(() => c.dsim[128]),
      iclip: c.iclip.map(() => c.iclip[128]),
    }));
    const tie = chooseDeadZone(flat, measured, rule);
    expect(tie.delta).toEqual({ lsnr: 0, dsim: 0, iclip: 0 });
    expect(tie.mean_t_star).toBe(1);
  });

  it("refuses mismatched prompt lists and a grid without 0", () => {
    expect(() => chooseDeadZone(measured.slice(1), measured, rule)).toThrow(/same prompts/);
    expect(() => chooseDeadZone(measured, measured, rule, [0.01, 0.1])).toThrow(/start at 0/);
  });
});
