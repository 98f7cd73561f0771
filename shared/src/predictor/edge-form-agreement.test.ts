import { describe, expect, it } from "vitest";
import { DEFAULT_PLATEAU, stepBudget } from "../plateau/step-budget";
import { agreementShortfall, EDGE_FORM_THRESHOLDS, measureAgreement } from "./edge-form-agreement";

const DENSE = 129;

/** [dense, 3] curves rising like 1 - exp(-t / tau) for every metric: t* grows with tau. */
function curves(tau: number): Float32Array {
  const out = new Float32Array(DENSE * 3);
  for (let i = 0; i < DENSE; i++)
    for (let k = 0; k < 3; k++) out[i * 3 + k] = 1 - Math.exp(-(i + 1) / (tau * (1 + k * 0.1)));
  return out;
}

function tStar(c: Float32Array): number {
  const pick = (k: number) => Float32Array.from({ length: DENSE }, (_, i) => c[i * 3 + k]);
  return stepBudget({ lsnr: pick(0), dsim: pick(1), iclip: pick(2) }, DEFAULT_PLATEAU).steps;
}

function stack(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.length * DENSE * 3);
  parts.forEach((p, i) => {
    out.set(p, i * DENSE * 3);
  });
  return out;
}

describe("measureAgreement", () => {
  it("is perfect for identical curves", () => {
    const t = stack([curves(5), curves(9), curves(14)]);
    expect(measureAgreement(t, t, 3, DENSE, DEFAULT_PLATEAU)).toEqual({
      prompts: 3,
      curve_mae: 0,
      t_star_within_1: 1,
      t_star_within_3: 1,
      worst_t_star_diff: 0,
    });
  });

  it("counts t* differences per prompt and the curve MAE over every value", () => {
    const taus = [5, 9, 14, 20];
    const teacher = stack(taus.map(curves));
    // Prompt 3 is answered with another prompt's curves: its t* moves, the rest are unchanged.
    const candidate = stack([curves(5), curves(9), curves(14), curves(5)]);
    const diff = Math.abs(tStar(curves(20)) - tStar(curves(5)));
    expect(diff).toBeGreaterThan(3);
    let abs = 0;
    for (let i = 0; i < teacher.length; i++) abs += Math.abs(teacher[i] - candidate[i]);
    const a = measureAgreement(teacher, candidate, 4, DENSE, DEFAULT_PLATEAU);
    expect(a.t_star_within_1).toBe(0.75);
    expect(a.t_star_within_3).toBe(0.75);
    expect(a.worst_t_star_diff).toBe(diff);
    expect(a.curve_mae).toBeCloseTo(abs / teacher.length, 9);
  });

  it("rejects arrays of the wrong size", () => {
    expect(() =>
      measureAgreement(new Float32Array(3), new Float32Array(3), 1, DENSE, DEFAULT_PLATEAU),
    ).toThrow(/1 x 129 x 3/);
  });
});

describe("agreementShortfall", () => {
  const pass = {
    prompts: 10,
    curve_mae: 0.001,
    t_star_within_1: 0.9,
    t_star_within_3: 1,
    worst_t_star_diff: 2,
  };

  it("passes a distilled form above the bar and names the first threshold missed", () => {
    expect(agreementShortfall("distilled", pass)).toBeUndefined();
    expect(agreementShortfall("distilled", { ...pass, t_star_within_3: 0.9 })).toBe(
      "t_star_within_3 0.9 is below EDGE_FORM_THRESHOLDS.distilled.t_star_within_3 = 0.95",
    );
    expect(agreementShortfall("distilled", { ...pass, curve_mae: 0.02 })).toContain(
      "EDGE_FORM_THRESHOLDS.distilled.curve_mae",
    );
  });

  it("holds an exact form to float rounding", () => {
    expect(agreementShortfall("exact", pass)).toContain(
      "EDGE_FORM_THRESHOLDS.exact.t_star_within_1",
    );
    const exact = { ...pass, t_star_within_1: 1, curve_mae: 3e-7 };
    expect(agreementShortfall("exact", exact)).toBeUndefined();
    expect(EDGE_FORM_THRESHOLDS.exact.curve_mae).toBeLessThan(
      EDGE_FORM_THRESHOLDS.distilled.curve_mae,
    );
  });

  it("treats a NaN MAE as a miss", () => {
    expect(agreementShortfall("distilled", { ...pass, curve_mae: Number.NaN })).toContain(
      "curve_mae",
    );
  });
});
