import { describe, expect, it } from "vitest";
import { DENSE_STEPS } from "../grid/step-grid";
import { splitMix32Random } from "../random/seeded-random";
import {
  allocateSteps,
  allocationScores,
  calibrateAllocation,
  calibrateAllocationTable,
  EQUAL_WEIGHTS,
  pricedArgmax,
  spendMatchedPrice,
  tabledPrice,
} from "./allocate";

/** Predicted curves whose qualities saturate at rate k (L-SNR and D-SIM fall, I-CLIP rises),
 * plus seeded noise so that S_p(t) is not concave. */
function curvesFor(k: number, seed: number, noise = 2e-3) {
  const r = splitMix32Random(seed);
  const sat = (t: number) => 1 - Math.exp(-t / k);
  const row = (f: (t: number) => number) =>
    Float64Array.from({ length: DENSE_STEPS }, (_, i) => f(i + 1) + r.uniform(-noise, noise));
  return {
    lsnr: row((t) => 0.6 - 0.3 * sat(t)),
    dsim: row((t) => 0.5 * (1 - sat(t))),
    iclip: row((t) => 0.6 + 0.35 * sat(t)),
  };
}

/**
 * Reference: every λ at which some prompt's argmax can change is (S(t) - S(s)) / (t - s); the
 * mean step count is constant between consecutive ones, so trying λ = 0, every midpoint and one
 * beyond the last lists every mean any λ reaches.
 */
function bruteForceMeans(scores: Float64Array[]): number[] {
  const cuts = new Set<number>();
  for (const s of scores)
    for (let a = 1; a <= DENSE_STEPS; a++)
      for (let b = a + 1; b <= DENSE_STEPS; b++) {
        const l = (s[b - 1] - s[a - 1]) / (b - a);
        if (l > 0) cuts.add(l);
      }
  const sorted = [...cuts].sort((x, y) => x - y);
  const lambdas = [
    0,
    ...sorted.slice(1).map((l, i) => (l + sorted[i]) / 2),
    sorted[sorted.length - 1] * 2,
  ];
  return lambdas.map((l) => scores.reduce((sum, s) => sum + pricedArgmax(s, l), 0) / scores.length);
}

describe("allocate mode", () => {
  const prompts = [3, 6, 10, 20, 40, 80].map((k, i) => curvesFor(k, i + 1));
  const scores = prompts.map((c) => allocationScores(c, 15, EQUAL_WEIGHTS));
  const reachable = bruteForceMeans(scores);

  it.each([4, 9.5, 15, 22, 40])(
    "bisection reaches the mean nearest target %d that any λ reaches (brute force)",
    (target) => {
      const cal = calibrateAllocation(prompts, target);
      expect(cal.uniform_steps).toBe(Math.round(target));
      const uScores = prompts.map((c) => allocationScores(c, cal.uniform_steps, EQUAL_WEIGHTS));
      const means = target === 15 ? reachable : bruteForceMeans(uScores);
      const bestGap = Math.min(...means.map((m) => Math.abs(m - target)));
      expect(Math.abs(cal.calibrated_mean_steps - target)).toBeCloseTo(bestGap, 9);
      // The reported mean is what λ really gives, prompt by prompt.
      const got = prompts.map((c) => allocateSteps(c, cal));
      expect(got.reduce((a, b) => a + b, 0) / got.length).toBeCloseTo(
        cal.calibrated_mean_steps,
        12,
      );
      expect(cal.calibration_prompts).toBe(prompts.length);
    },
  );

  it("is the best allocation of its own total steps (Lagrangian = knapsack; exact DP)", () => {
    const cal = calibrateAllocation(prompts, 15);
    const t = prompts.map((c) => allocateSteps(c, cal));
    const budget = t.reduce((a, b) => a + b, 0);
    const s = prompts.map((c) => allocationScores(c, cal.uniform_steps, EQUAL_WEIGHTS));
    // best[b]: the highest total score of the prompts so far with exactly b steps.
    let best = new Float64Array(budget + 1).fill(Number.NEGATIVE_INFINITY);
    best[0] = 0;
    for (const sp of s) {
      const next = new Float64Array(budget + 1).fill(Number.NEGATIVE_INFINITY);
      for (let b = 0; b <= budget; b++)
        for (let u = 1; u <= DENSE_STEPS && b + u <= budget; u++)
          next[b + u] = Math.max(next[b + u], best[b] + sp[u - 1]);
      best = next;
    }
    const ours = t.reduce((sum, u, i) => sum + s[i][u - 1], 0);
    expect(ours).toBeCloseTo(Math.max(...best), 12);
    // Prompts do get different budgets.
    expect(new Set(t).size).toBeGreaterThan(2);
  });

  it("λ = 0 on a target above every prompt's best step, and t = 1 for a prohibitive price", () => {
    const cal = calibrateAllocation(prompts, 129);
    expect(cal.lambda).toBe(0);
    expect(allocateSteps(prompts[0], { ...cal, lambda: 1e6 })).toBe(1);
  });

  it("argmax by hand: S = 0, 0.5, 0.8, 0.9; λ = 0.2 -> t = 3, λ = 0.35 -> 2, ties -> smaller", () => {
    const s = [0, 0.5, 0.8, 0.9];
    expect(pricedArgmax(s, 0.2)).toBe(3);
    expect(pricedArgmax(s, 0.35)).toBe(2);
    expect(pricedArgmax(s, 0.5)).toBe(1);
    expect(pricedArgmax(s, 0.2, 1, 2)).toBe(2);
  });

  it("is relative to U: the scores at U are the sum of the weights", () => {
    const s = allocationScores(prompts[2], 15, { lsnr: 0.5, dsim: 0.25, iclip: 0.25 });
    expect(s[14]).toBeCloseTo(1, 12);
  });

  it("respects the caller's bounds", () => {
    const cal = calibrateAllocation(prompts, 15);
    expect(allocateSteps(prompts[0], cal, { minSteps: 50 })).toBeGreaterThanOrEqual(50);
    expect(allocateSteps(prompts[5], cal, { maxSteps: 4 })).toBeLessThanOrEqual(4);
  });

  it("rejects bad input naming the field", () => {
    expect(() => calibrateAllocation([], 10)).toThrow(/prompts/);
    expect(() => calibrateAllocation(prompts, 0)).toThrow(/target_mean_steps/);
    expect(() =>
      allocateSteps(prompts[0], { lambda: -1, uniform_steps: 5, weights: EQUAL_WEIGHTS }),
    ).toThrow(/lambda/);
    expect(() =>
      allocateSteps(prompts[0], { lambda: 0, uniform_steps: 200, weights: EQUAL_WEIGHTS }),
    ).toThrow(/uniform_steps/);
    expect(() =>
      allocateSteps(prompts[0], {
        lambda: 0,
        uniform_steps: 5,
        weights: { lsnr: 1, dsim: Number.NaN, iclip: 1 },
      }),
    ).toThrow(/weights\.dsim/);
  });
});

describe("allocation price table", () => {
  const prompts = [3, 6, 10, 20, 40, 80].map((k, i) => curvesFor(k, i + 1));
  const weights = { lsnr: 0.6, dsim: 0.3, iclip: 0.1 };
  const table = calibrateAllocationTable(prompts, weights);

  it("holds, for every integer target, the price calibrateAllocation finds for it", () => {
    expect(table.prices).toHaveLength(DENSE_STEPS);
    expect(table.calibration_prompts).toBe(prompts.length);
    for (const target of [1, 2, 7, 15, 33, 129]) {
      const cal = calibrateAllocation(prompts, target, weights);
      const price = tabledPrice(table, target);
      expect(price).toEqual({
        lambda: cal.lambda,
        uniform_steps: cal.uniform_steps,
        weights,
        target_mean_steps: target,
      });
      expect(table.prices[target - 1].calibrated_mean_steps).toBe(cal.calibrated_mean_steps);
      const mean = prompts.reduce((s, c) => s + allocateSteps(c, price), 0) / prompts.length;
      expect(mean).toBeCloseTo(cal.calibrated_mean_steps, 12);
    }
  });

  it("spends more steps for a larger target", () => {
    const means = table.prices.map((p) => p.calibrated_mean_steps);
    for (let i = 1; i < means.length; i++) expect(means[i]).toBeGreaterThanOrEqual(means[i - 1]);
    expect(means[4]).toBeLessThan(means[39]);
  });

  it.each([0, 130, 2.5, Number.NaN])("refuses mean_steps %s, naming the field", (bad) => {
    expect(() => tabledPrice(table, bad)).toThrow(expect.objectContaining({ field: "mean_steps" }));
  });

  it("picks the target whose spend on other prompts is nearest the one asked for", () => {
    const served = [4, 8, 12, 30, 60].map((k, i) => curvesFor(k, i + 50));
    const spend = (k: number) =>
      served.reduce((s, c) => s + allocateSteps(c, tabledPrice(table, k)), 0) / served.length;
    const spends = Array.from({ length: DENSE_STEPS }, (_, i) => spend(i + 1));
    for (const asked of [3.2, 17.5, 26, 90]) {
      const got = spendMatchedPrice(table, served, asked);
      const gap = Math.abs(got.mean_steps - asked);
      expect(got.mean_steps).toBe(spends[got.target_mean_steps - 1]);
      expect(got).toMatchObject(tabledPrice(table, got.target_mean_steps));
      // No entry spends nearer, and among equally near ones the smallest target wins.
      spends.forEach((s, i) => {
        expect(Math.abs(s - asked)).toBeGreaterThanOrEqual(gap);
        if (Math.abs(s - asked) === gap)
          expect(i + 1).toBeGreaterThanOrEqual(got.target_mean_steps);
      });
    }
    expect(() => spendMatchedPrice(table, [], 10)).toThrow(
      expect.objectContaining({ field: "prompts" }),
    );
  });
});
