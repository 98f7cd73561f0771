import { interpolateDense, STEP_GRID } from "@budgetfusion/shared/grid/step-grid";
import { DEFAULT_PLATEAU, stepBudget } from "@budgetfusion/shared/plateau/step-budget";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type ConditionPlan,
  type Evaluation,
  evaluate,
  type GeneratedMetrics,
  plannedConditions,
} from "./evaluate";
import { stat } from "./stat";

/** A dense curve rising by `slope` per step up to step k, flat after: plateau t* = k. */
function plateauCurve(k: number, slope = 0.01): Float32Array {
  return Float32Array.from({ length: 129 }, (_, i) => Math.min(i + 1, k) * slope);
}

describe("evaluate (SPEC §6)", () => {
  // measured: lsnr = 0.5 - 0.002 t, dsim = 0.4 - 0.002 t, iclip = 0.3 + 0.004 t (linear: the
  // interpolation between grid points is exact)
  const measuredFor = () =>
    new Map(
      STEP_GRID.map((t) => [
        t,
        { lsnr: 0.5 - 0.002 * t, dsim: 0.4 - 0.002 * t, iclip: 0.3 + 0.004 * t },
      ]),
    );
  const measured = new Map([
    [3, measuredFor()],
    [8, measuredFor()],
  ]);
  const both = (a: Float32Array, b: Float32Array) => {
    const out = new Float32Array(258);
    out.set(a, 0);
    out.set(b, 129);
    return out;
  };
  const curves = both(plateauCurve(10), plateauCurve(30));
  const full = { lsnr: curves, dsim: curves, iclip: curves };
  // measured L-SNR + 0.01 at every dense step of both prompts: MAE 0.01 by construction
  const shifted = Float32Array.from(
    { length: 258 },
    (_, i) => 0.5 - 0.002 * ((i % 129) + 1) + 0.01,
  );
  const cost = {
    textFlops: 1e12,
    unetStepFlops: 1e12,
    vaeFlops: 1e12,
    width: 64,
    height: 64,
    guidanceScale: 7.5,
  };
  const base = {
    promptIds: [3, 8],
    measured,
    stepGrid: STEP_GRID,
    predicted: { full, mlp_tanh: { lsnr: shifted, dsim: shifted, iclip: shifted } },
    cost,
    plateau: DEFAULT_PLATEAU,
  };
  let res: Evaluation;
  beforeAll(async () => {
    res = await evaluate(base);
  });

  it("finds t* = the plateau step of each prompt and UNIFORM = round(mean t*)", () => {
    expect(res.t_star.per_prompt.map((p) => p.t_star)).toEqual([10, 30]);
    expect(res.uniform_steps).toBe(20);
    expect(res.reference_steps).toBe(65);
    // oracle: the same rule applied to the dense measured curves
    const dense = (f: (t: number) => number) => interpolateDense(STEP_GRID.map(f));
    const oracle = stepBudget({
      lsnr: dense((t) => 0.5 - 0.002 * t),
      dsim: dense((t) => 0.4 - 0.002 * t),
      iclip: dense((t) => 0.3 + 0.004 * t),
    }).steps;
    expect(res.t_star.per_prompt.map((p) => p.t_star_oracle)).toEqual([oracle, oracle]);
    expect(res.oracle.uniform_steps).toBe(oracle);
  });

  it("computes Eq. 9 relative quality by hand: q(10)/q(20) - 1 and q(30)/q(20) - 1", () => {
    const a = 0.52 / 0.54 - 1;
    const b = 0.56 / 0.54 - 1;
    expect(res.relative_quality.lsnr.mean).toBeCloseTo((a + b) / 2, 12);
    expect(res.relative_quality.lsnr.stderr).toBeCloseTo(Math.abs(a - b) / 2, 12);
    // iclip: q = 0.3 + 0.004 t -> 0.34, 0.38, 0.42
    expect(res.relative_quality.iclip.mean).toBeCloseTo((0.34 / 0.38 + 0.42 / 0.38) / 2 - 1, 12);
  });

  it("divides quality by eta = text + t x UNet + VAE TFLOPs (Table 2)", () => {
    expect(res.eta_tflops.uniform).toBeCloseTo(22, 9);
    expect(res.eta_tflops.reference).toBeCloseTo(67, 9);
    expect(res.table2_quality_per_tflop.ours.lsnr.mean).toBeCloseTo(
      (0.52 / 12 + 0.56 / 32) / 2,
      12,
    );
    expect(res.table2_quality_per_tflop.reference.dsim.mean).toBeCloseTo(
      (1 - (0.4 - 0.13)) / 67,
      12,
    );
    expect(res.savings_vs_defaults["65"].saved_fraction).toBeCloseTo(1 - 22 / 67, 12);
  });

  it("Table 1: a prediction 0.01 off the measured curve everywhere has MAE 0.01", () => {
    expect(res.table1_mae_dense.mlp_tanh?.lsnr).toBeCloseTo(0.01, 6);
    expect(res.table1_mae_sampled.mlp_tanh?.lsnr).toBeCloseTo(0.01, 6);
    expect(res.table1_mae_dense.no_step_encoding).toBeUndefined();
  });

  it("stat: mean and standard error of the mean", () => {
    expect(stat([1, 2, 3, 4])).toEqual({ mean: 2.5, stderr: Math.sqrt(5 / 3 / 4), n: 4 });
  });

  it("prefers metrics of images generated at the exact step counts when given", async () => {
    let seen: ConditionPlan | undefined;
    const values = (lsnr: number) => ({ lsnr, dsim: 0.5, iclip: 0.5 });
    const gen = await evaluate({
      ...base,
      generated: async (plan) => {
        seen = plan;
        return new Map(
          plan.promptIds.map((id) => [
            id,
            { ours: values(0.2), uniform: values(0.25), reference: values(0.1) },
          ]),
        );
      },
    });
    expect(seen).toEqual({ promptIds: [3, 8], ours: [10, 30], uniform: 20, reference: 65 });
    expect(gen.relative_quality.lsnr.mean).toBeCloseTo(0.8 / 0.75 - 1, 12);
    expect(gen.relative_quality.dsim.mean).toBeCloseTo(0, 12);
    expect(gen.interpolated.relative_quality.lsnr.mean).toBeCloseTo(
      res.relative_quality.lsnr.mean,
      12,
    );
    expect(gen.quality_source).toMatch(/generated/);
  });

  it("allocate mode: t(p) at the calibrated price, against UNIFORM at its own mean steps", async () => {
    // I-CLIP only: S_A(t) = min(t,10)/10 gains 0.1 a step, S_B(t) = min(t,30)/20 gains 0.05;
    // at λ = 0.03 both keep gaining to their plateau: t = 10 and 30, mean 20.
    const allocation = {
      lambda: 0.03,
      uniform_steps: 20,
      weights: { lsnr: 0, dsim: 0, iclip: 1 },
      target_mean_steps: 20,
      calibrated_mean_steps: 20,
      calibration_prompts: 2,
    };
    const values = (iclip: number) => ({ lsnr: 0.5, dsim: 0.5, iclip });
    let seen: ConditionPlan | undefined;
    const gen = await evaluate({
      ...base,
      allocation,
      generated: async (plan) => {
        seen = plan;
        return new Map(
          plan.promptIds.map((id, i) => [
            id,
            {
              ours: values(0.5),
              uniform: values(0.5),
              reference: values(0.5),
              allocate: values(i === 0 ? 0.6 : 0.9),
              allocate_uniform: values(0.75),
            },
          ]),
        );
      },
    });
    expect(seen?.allocate).toEqual({ weighted: { steps: [10, 30], uniform: 20 } });
    const mode = gen.allocation_mode;
    expect(mode?.mean_steps).toBe(20);
    expect(mode?.uniform_steps).toBe(20);
    expect(mode?.calibration).toEqual(allocation);
    expect(mode?.relative_quality.iclip.mean).toBeCloseTo((0.6 / 0.75 + 0.9 / 0.75) / 2 - 1, 12);
    expect(mode?.relative_quality.iclip.stderr).toBeCloseTo(0.3 / 0.75 / 2, 12);
    // Off the measured (linear) curves: q = 0.3 + 0.004 t at 10 and 30 against 20.
    expect(mode?.interpolated_relative_quality.iclip.mean).toBeCloseTo(
      (0.34 / 0.38 + 0.42 / 0.38) / 2 - 1,
      12,
    );
    // Linear measured curves leave no room: every allocation of 40 steps gains the same (0).
    expect(mode?.ceiling.iclip).toBeCloseTo(0, 12);
    expect(Number.isNaN(mode?.fraction_realised.iclip)).toBe(true);
    expect(res.allocation_mode).toBeUndefined();
  });

  it("allocate mode with a price table: scored at the entry whose spend matches OURS'", async () => {
    // I-CLIP only, U = 20: prompt A gains 0.1 a step up to 10, B 0.05 up to 30. λ = 0.03 gives
    // 10 and 30 (mean 20 = OURS'), 0.07 gives 10 and 1, 0.2 gives 1 and 1.
    const weights = { lsnr: 0, dsim: 0, iclip: 1 };
    const entry = (lambda: number) => ({ lambda, uniform_steps: 20, calibrated_mean_steps: 0 });
    const prices = Array.from({ length: 129 }, (_, i) =>
      i + 1 === 7 ? entry(0.03) : i + 1 === 3 ? entry(0.07) : entry(0.2),
    );
    const allocation = {
      ...entry(0.07),
      weights,
      target_mean_steps: 3,
      calibrated_mean_steps: 5.5,
      calibration_prompts: 2,
    };
    const values = { lsnr: 0.5, dsim: 0.5, iclip: 0.5 };
    let seen: ConditionPlan | undefined;
    // I-CLIP priced alone: the same scores, the matching price at target 12.
    const iclipPrices = prices.map((_, i) => (i + 1 === 12 ? entry(0.03) : entry(0.2)));
    const gen = await evaluate({
      ...base,
      allocation,
      allocationPrices: { weights, calibration_prompts: 2, prices },
      allocationPricesByMetric: { iclip: { weights, calibration_prompts: 2, prices: iclipPrices } },
      generated: async (plan) => {
        seen = plan;
        const all = Object.fromEntries(plannedConditions(plan).map((c) => [c, values]));
        return new Map(plan.promptIds.map((id) => [id, all as GeneratedMetrics]));
      },
    });
    expect(seen?.allocate).toEqual({
      weighted: { steps: [10, 30], uniform: 20 },
      iclip: { steps: [10, 30], uniform: 20 },
    });
    expect(seen && plannedConditions(seen)).toEqual([
      "ours",
      "uniform",
      "reference",
      "allocate",
      "allocate_uniform",
      "allocate_iclip",
      "allocate_iclip_uniform",
    ]);
    expect(gen.allocation_mode?.by_metric?.iclip).toMatchObject({
      price: { lambda: 0.03, target_mean_steps: 12 },
      mean_steps: 20,
      uniform_steps: 20,
    });
    expect(gen.allocation_mode?.by_metric?.dsim).toBeUndefined();
    const mode = gen.allocation_mode;
    expect(mode?.ours_mean_steps).toBe(20);
    expect(mode?.mean_steps).toBe(20);
    expect(mode?.price).toMatchObject({ lambda: 0.03, uniform_steps: 20, target_mean_steps: 7 });
    expect(mode?.price.chosen_by).toMatch(/price table.*nearest OURS/);
    // The bundle's default price is still the one recorded as the calibration.
    expect(mode?.calibration).toEqual(allocation);
  });

  it("Spearman of t* against the oracle is undefined when the oracle t* is constant", () => {
    // Both prompts have the same measured curves, so the same oracle t*.
    expect(Number.isNaN(res.t_star.spearman_vs_oracle)).toBe(true);
  });
});
