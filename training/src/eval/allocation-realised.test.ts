import { DENSE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import { calibrateAllocation } from "@budgetfusion/shared/plateau/allocate";
import { METRIC_NAMES, type MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";
import { describe, expect, it } from "vitest";
import { allocationCeiling } from "./allocation-ceiling";
import { allocationDiagnosis, allocationRealised } from "./allocation-realised";

/** A falling metric curve v(t) = floor + (1 - floor) * exp(-t / tau): concave quality gains. */
function curve(tau: number, floor: number): Float32Array {
  return Float32Array.from(
    { length: DENSE_STEPS },
    (_, i) => floor + (1 - floor) * Math.exp(-(i + 1) / tau),
  );
}

/** The same falling curve for every metric (I-CLIP as 1 - v, so its quality is the same). */
function prompt(tau: number, floor: number): Record<MetricName, Float32Array> {
  const v = curve(tau, floor);
  return { lsnr: v, dsim: v, iclip: v.map((x) => 1 - x) };
}

describe("allocationRealised", () => {
  // Fast, slow and middling prompts: the knapsack moves steps from the fast to the slow one.
  const prompts = [prompt(2, 0.2), prompt(40, 0.3), prompt(10, 0.1), prompt(25, 0.5)];
  const measured = prompts;
  const price = calibrateAllocation(prompts, 20);

  it("with the measured curves as the prediction realises (nearly) all of the ceiling", () => {
    const r = allocationRealised(prompts, measured, price);
    expect(r.n).toBe(4);
    expect(r.uniform_steps).toBe(20);
    for (const m of METRIC_NAMES) {
      const ceiling = allocationCeiling(
        prompts.map((p) => Array.from(p[m], (v) => (m === "iclip" ? v : 1 - v))),
        20,
      ).relative_quality;
      expect(r.per_metric[m].ceiling).toBeCloseTo(ceiling, 12);
      expect(ceiling).toBeGreaterThan(0.01);
      // The Lagrangian optimum of concave gains is the knapsack's up to the budget it spends.
      expect(r.per_metric[m].fraction_realised).toBeGreaterThan(0.9);
      expect(r.per_metric[m].fraction_realised).toBeLessThanOrEqual(1 + 1e-9);
    }
  });

  it("with swapped predictions spends the steps on the wrong prompts and realises less", () => {
    const swapped = [prompts[1], prompts[0], prompts[3], prompts[2]];
    const r = allocationRealised(swapped, measured, calibrateAllocation(swapped, 20));
    for (const m of METRIC_NAMES) expect(r.per_metric[m].fraction_realised).toBeLessThan(0);
  });

  it("diagnosis: a swapped predictor falls short of the perfect one, metric by metric", () => {
    const swapped = [prompts[1], prompts[0], prompts[3], prompts[2]];
    const d = allocationDiagnosis(swapped, measured, calibrateAllocation(swapped, 20));
    for (const m of METRIC_NAMES) {
      expect(d.perfect_predictor.per_metric[m].fraction_realised).toBeGreaterThan(0.9);
      expect(d.per_metric[m].fraction_realised).toBeLessThan(0);
      expect(d.single_metric[m].perfect_predictor).toBeGreaterThan(0.9);
      expect(d.single_metric[m].predicted).toBeLessThan(0);
    }
    // The perfect predictor is priced on the measured curves for the same mean.
    expect(d.perfect_predictor.mean_steps).toBeCloseTo(20, 0);
  });
});
