/**
 * Properties of the predictor variants beyond the PyTorch golden test (test/golden/lstm.test.ts):
 * central finite differences for every architecture (with dropout on, and through the
 * grid-interpolated output), the 3-head model reducing to the single-head one when its heads are
 * identical, and the grid-interpolated output being linear between the grid steps.
 */

import { splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { describe, expect, it } from "vitest";
import { type Architecture, parseModelConfig } from "./config";
import { initParams, type ParamMap, paramSpecs, viewParams } from "./params";
import { predictorForward, predictorForwardBackward } from "./predictor";

function randomArray(len: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = splitMix32Random(seed);
  return Float32Array.from({ length: len }, () => r.uniform(lo, hi));
}

const n = 3;
const T = 5;
const D = 4;

/** The grid of the grid-interpolated output cases: steps 1, 3 and 5 of T = 5. */
const GRID = [1, 3, 5];

const configOf = (arch: Architecture, tailPad: number, grid = false) =>
  parseModelConfig({
    architecture: arch,
    width: D,
    hidden: 3,
    mlp: 4,
    dropout: 0.3,
    tailPad,
    ...(grid ? { outputGrid: GRID } : {}),
  });

function lossOf(
  arch: Architecture,
  flat: Float32Array,
  x: Float32Array,
  y: Float32Array,
  diffWeight: number,
  tailPad: number,
  grid: boolean,
): number {
  const cfg = configOf(arch, tailPad, grid);
  const specs = paramSpecs(cfg);
  const p = viewParams(specs, flat).map;
  const g = viewParams(specs).map;
  const nh = arch === "bilstm-3head" ? 3 : 1;
  return predictorForwardBackward(cfg, p, g, x, y, n, T, n * T * nh, {
    train: true,
    dropoutSeed: 7,
    diffWeight,
  }).loss;
}

/** x(b, t) = p_b + s_t, the predictor's real input form (layer 0's factored path). */
function promptPlusStep(seed: number): Float32Array {
  const p = randomArray(n * D, seed);
  const s = randomArray(T * D, seed + 100);
  return Float32Array.from({ length: n * T * D }, (_, i) => {
    const b = Math.floor(i / (T * D));
    const t = Math.floor(i / D) % T;
    return Math.fround(p[b * D + (i % D)] + s[t * D + (i % D)]);
  });
}

describe.each([
  ["bilstm", 0, 0, false, "random"],
  ["mlp-tanh", 0, 0, false, "random"],
  ["bilstm-3head", 0, 0, false, "random"],
  ["bilstm", 3, 0, false, "random"],
  ["bilstm-3head", 3, 0, false, "random"],
  ["bilstm", 3, 2, false, "random"],
  ["bilstm", 3, 2, true, "random"],
  ["bilstm-3head", 0, 0, true, "random"],
  // The predictor's real input p̄ + t̄ takes layer 0's factored path (lstm-direction.ts).
  ["bilstm", 0, 2, false, "p̄ + t̄"],
  ["bilstm-3head", 3, 0, true, "p̄ + t̄"],
] as const)(
  "%s gradients, difference-loss weight %d, tail padding %d, grid output %s, input %s",
  (arch, diffWeight, tailPad, grid, input) => {
    it("agree with central finite differences of the loss (dropout on, fixed seed)", () => {
      const cfg = configOf(arch, tailPad, grid);
      const specs = paramSpecs(cfg);
      const { flat, map } = viewParams(specs);
      initParams(specs, flat, 3);
      // Larger-than-default weights so that every gate is far from linear.
      for (let i = 0; i < flat.length; i++) flat[i] *= 2;
      const nh = arch === "bilstm-3head" ? 3 : 1;
      const x = input === "random" ? randomArray(n * T * D, 1) : promptPlusStep(1);
      const y = randomArray(n * T * nh, 2, 0, 1);
      const grads = viewParams(specs);
      predictorForwardBackward(cfg, map, grads.map, x, y, n, T, n * T * nh, {
        train: true,
        dropoutSeed: 7,
        diffWeight,
      });
      // Central differences at eps and eps/2: where they disagree a ReLU kink lies inside the
      // interval and the finite difference is meaningless, so that element is skipped (counted).
      const fdAt = (i: number, eps: number) => {
        const keep = flat[i];
        flat[i] = keep + eps;
        const up = lossOf(arch, flat, x, y, diffWeight, tailPad, grid);
        flat[i] = keep - eps;
        const down = lossOf(arch, flat, x, y, diffWeight, tailPad, grid);
        flat[i] = keep;
        return (up - down) / (2 * eps);
      };
      let worst = 0;
      let scale = 0;
      let kinks = 0;
      let checked = 0;
      for (let i = 0; i < flat.length; i += 3) {
        const fd = fdAt(i, 1e-2);
        checked++;
        if (Math.abs(fd - fdAt(i, 5e-3)) > 1e-4) {
          kinks++;
          continue;
        }
        worst = Math.max(worst, Math.abs(fd - grads.flat[i]));
        scale = Math.max(scale, Math.abs(grads.flat[i]));
      }
      expect(kinks).toBeLessThanOrEqual(Math.ceil(checked * 0.02));
      expect(scale).toBeGreaterThan(1e-3);
      expect(worst / scale).toBeLessThan(2e-3);
    });
  },
);

describe("bilstm-3head", () => {
  it("equals the single-head model when all three heads carry the same weights", () => {
    const one = parseModelConfig({ width: D, hidden: 3, mlp: 4 });
    const three = parseModelConfig({ architecture: "bilstm-3head", width: D, hidden: 3, mlp: 4 });
    const s1 = paramSpecs(one);
    const s3 = paramSpecs(three);
    const p1 = viewParams(s1);
    initParams(s1, p1.flat, 11);
    const p3 = viewParams(s3);
    for (const [name, t] of p3.map) {
      const src = p1.map.get(name.replace(/^heads\.\d\./, ""));
      if (!src) throw new Error(name);
      t.data.set(src.data);
    }
    const x = randomArray(n * T * D, 5);
    const y1 = randomArray(n * T, 6, 0, 1);
    const y3 = Float32Array.from({ length: n * T * 3 }, (_, i) => y1[Math.floor(i / 3)]);
    const g1 = viewParams(s1).map;
    const g3 = viewParams(s3).map;
    const r1 = predictorForwardBackward(one, p1.map, g1, x, y1, n, T, n * T, { train: false });
    const r3 = predictorForwardBackward(three, p3.map, g3, x, y3, n, T, n * T * 3, {
      train: false,
    });
    expect(r3.loss).toBeCloseTo(r1.loss, 7);
    const out3 = predictorForward(three, p3.map, x, n, T);
    for (let i = 0; i < n * T; i++)
      for (let h = 0; h < 3; h++) expect(out3[i * 3 + h]).toBe(r1.outputs[i]);
    for (const [name, t] of g3) {
      const isHead = name.startsWith("heads.");
      const ref = get(g1, name.replace(/^heads\.\d\./, ""));
      // Loss = mean of three identical MSEs: each head gets a third, the shared LSTM the same.
      for (let i = 0; i < ref.length; i++)
        expect(t.data[i]).toBeCloseTo(isHead ? ref[i] / 3 : ref[i], 6);
    }
  });
});

describe("grid-interpolated output", () => {
  it("is the dense model's output at the grid steps, linear in between", () => {
    const dense = configOf("bilstm", 2);
    const gridded = configOf("bilstm", 2, true);
    const specs = paramSpecs(dense);
    const { flat, map } = viewParams(specs);
    initParams(specs, flat, 13);
    const x = randomArray(n * T * D, 14);
    const a = predictorForward(dense, map, x, n, T);
    const b = predictorForward(gridded, map, x, n, T);
    for (let s = 0; s < n; s++) {
      const at = (o: Float32Array, t: number) => o[s * T + t - 1];
      for (const t of GRID) expect(at(b, t)).toBeCloseTo(at(a, t), 6);
      // Steps 2 and 4 sit halfway between their grid neighbours.
      expect(at(b, 2)).toBeCloseTo((at(a, 1) + at(a, 3)) / 2, 6);
      expect(at(b, 4)).toBeCloseTo((at(a, 3) + at(a, 5)) / 2, 6);
      expect(Math.abs(at(b, 4) - at(a, 4))).toBeGreaterThan(1e-6);
    }
  });

  it("rejects a grid longer than the sequence", () => {
    const cfg = parseModelConfig({ width: D, hidden: 3, mlp: 4, outputGrid: [1, 9] });
    const specs = paramSpecs(cfg);
    const { flat, map } = viewParams(specs);
    initParams(specs, flat, 1);
    expect(() => predictorForward(cfg, map, randomArray(n * T * D, 2), n, T)).toThrow(/outputGrid/);
  });
});

function get(m: ParamMap, name: string): Float32Array {
  const t = m.get(name);
  if (!t) throw new Error(name);
  return t.data;
}
