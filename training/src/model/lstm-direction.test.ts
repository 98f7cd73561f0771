import { splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { describe, expect, it } from "vitest";
import { type FactoredInput, lstmDirBackward, lstmDirForward } from "./lstm-direction";

const rand = (len: number, seed: number) => {
  const r = splitMix32Random(seed);
  return Float32Array.from({ length: len }, () => r.uniform(-1, 1));
};

describe("LSTM direction on a factored input (rows p_b + s_t)", () => {
  const [T, B, din, H] = [7, 4, 6, 3];
  const G = 4 * H;
  const factored: FactoredInput = { prompts: rand(B * din, 1), steps: rand(T * din, 2) };
  // Time-major rows t*B + b, as the predictor lays them out.
  const x = new Float32Array(T * B * din);
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++)
      for (let j = 0; j < din; j++)
        x[(t * B + b) * din + j] = factored.prompts[b * din + j] + factored.steps[t * din + j];
  const w = { wih: rand(G * din, 3), whh: rand(G * H, 4), bih: rand(G, 5), bhh: rand(G, 6) };
  const dOut = rand(T * B * H, 7);
  const d = { T, B, din, H };

  for (const reverse of [false, true]) {
    it(`gives the dense path's hidden states and weight gradients (reverse ${reverse})`, () => {
      const run = (f?: FactoredInput) => {
        const out = new Float32Array(T * B * H);
        const cache = lstmDirForward(x, w, d, reverse, out, H, 0, f);
        const grads = {
          wih: new Float32Array(G * din),
          whh: new Float32Array(G * H),
          bih: new Float32Array(G),
          bhh: new Float32Array(G),
        };
        lstmDirBackward(x, w, cache, d, reverse, dOut, H, 0, grads, null, f);
        return { out, grads };
      };
      const dense = run();
      const fast = run(factored);
      const maxDiff = (a: Float32Array, b: Float32Array) =>
        a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
      expect(maxDiff(fast.out, dense.out)).toBeLessThan(1e-6);
      for (const k of ["wih", "whh", "bih", "bhh"] as const) {
        expect(maxDiff(fast.grads[k], dense.grads[k])).toBeLessThan(1e-5);
        expect(dense.grads[k].some((v) => Math.abs(v) > 1e-3)).toBe(true);
      }
    });
  }
});
