import { DENSE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import {
  calibrateAllocation,
  EQUAL_WEIGHTS,
  metricAlone,
} from "@budgetfusion/shared/plateau/allocate";
import { METRIC_NAMES, type MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";
import { describe, expect, it } from "vitest";
import { allocationRealised } from "./allocation-realised";
import { chooseAllocationWeights, simplexGrid } from "./allocation-weights";

/** A falling metric curve v(t) = floor + (1 - floor) * exp(-t / tau). */
function curve(tau: number, floor: number): Float32Array {
  return Float32Array.from(
    { length: DENSE_STEPS },
    (_, i) => floor + (1 - floor) * Math.exp(-(i + 1) / tau),
  );
}

/** L-SNR settles with time constant tauL; D-SIM and I-CLIP with tauD (I-CLIP as 1 - v). */
function prompt(tauL: number, tauD: number): Record<MetricName, Float32Array> {
  const d = curve(tauD, 0.1);
  return { lsnr: curve(tauL, 0.3), dsim: d, iclip: d.map((x) => 1 - x) };
}

function minShare(
  predicted: Record<MetricName, Float32Array>[],
  weights: Record<MetricName, number>,
): number {
  const r = allocationRealised(predicted, predicted, calibrateAllocation(predicted, 20, weights));
  return Math.min(...METRIC_NAMES.map((m) => r.per_metric[m].fraction_realised));
}

describe("simplexGrid", () => {
  it("covers the simplex in steps of 1 / divisions", () => {
    const g = simplexGrid(20);
    expect(g).toHaveLength(231);
    for (const w of g) expect(w.lsnr + w.dsim + w.iclip).toBeCloseTo(1, 12);
    expect(g).toContainEqual({ lsnr: 1, dsim: 0, iclip: 0 });
    expect(g).toContainEqual({ lsnr: 0.25, dsim: 0.5, iclip: 0.25 });
  });

  it("refuses a bad resolution, naming it", () => {
    expect(() => simplexGrid(0)).toThrow(/divisions/);
  });
});

describe("chooseAllocationWeights", () => {
  // L-SNR wants steps on prompts 0-1, D-SIM and I-CLIP on prompts 2-3: the metrics disagree.
  const prompts = [prompt(40, 3), prompt(30, 2), prompt(3, 40), prompt(2, 30), prompt(10, 10)];

  it("finds weights at least as balanced as any it was offered", () => {
    const c = chooseAllocationWeights(prompts, prompts, 20, 10);
    expect(c.candidates).toBe(66);
    expect(c.grid_step).toBeCloseTo(0.1, 12);
    expect(c.min_share).toBeCloseTo(minShare(prompts, c.weights), 12);
    for (const w of [EQUAL_WEIGHTS, metricAlone("lsnr"), metricAlone("dsim"), ...simplexGrid(10)])
      expect(c.min_share).toBeGreaterThanOrEqual(minShare(prompts, w) - 1e-12);
    // Pricing one metric alone leaves the other prompts' metric unserved: it is not the choice.
    expect(c.min_share).toBeGreaterThan(minShare(prompts, metricAlone("lsnr")) + 0.1);
    expect(c.weights.lsnr).toBeGreaterThan(0);
    expect(c.weights.dsim + c.weights.iclip).toBeGreaterThan(0);
  });

  it("refuses predicted and measured curves of different prompts", () => {
    expect(() => chooseAllocationWeights(prompts, prompts.slice(1), 20)).toThrow(/same prompts/);
  });
});
