/**
 * Data parallelism must not change the maths: the gradient summed over 2 worker threads equals
 * the single-thread gradient within 1e-6 relative to the tensor's max |value| (dropout on, so
 * the per-sample dropout streams are checked too), and so do the loss and the outputs.
 */

import { splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { afterAll, describe, expect, it } from "vitest";
import { type Architecture, headCount, parseModelConfig } from "../model/config";
import { initParams, paramSpecs } from "../model/params";
import { createGradEngine, type GradEngine } from "./grad-engine";

const n = 7; // odd: uneven shards
const T = 9;
const D = 8;

function rand(len: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = splitMix32Random(seed);
  return Float32Array.from({ length: len }, () => r.uniform(lo, hi));
}

function scaledDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / s;
}

const engines: GradEngine[] = [];
afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
});

describe.each(["bilstm", "bilstm-3head", "mlp-tanh"] as Architecture[])(
  "%s: 1 vs 2 threads",
  (arch) => {
    it("gives the same loss, gradient and outputs", async () => {
      const cfg = parseModelConfig({
        architecture: arch,
        width: D,
        hidden: 6,
        mlp: 5,
        dropout: 0.25,
      });
      const specs = paramSpecs(cfg);
      const heads = headCount(arch);
      const x = rand(n * T * D, 1);
      const y = rand(n * T * heads, 2, 0, 1);
      const idx = Int32Array.from([6, 2, 0, 5, 3, 1, 4]);
      const results = [];
      for (const threads of [1, 2]) {
        const e = createGradEngine({ cfg, specs, T, heads, threads, diffWeight: 0.5 });
        engines.push(e);
        initParams(specs, e.params, 9);
        await e.setDataset("train", x, y);
        const loss = await e.step("train", idx, 1234);
        const out = await e.forward("train", idx);
        results.push({ loss, grads: Float32Array.from(e.grads), out });
      }
      const [one, two] = results;
      expect(Math.abs(one.loss - two.loss) / one.loss).toBeLessThan(1e-6);
      expect(scaledDiff(two.grads, one.grads)).toBeLessThan(1e-6);
      expect(scaledDiff(two.out, one.out)).toBeLessThan(1e-6);
      // And the gradient is not trivially zero.
      expect(one.grads.some((g) => Math.abs(g) > 1e-4)).toBe(true);
    });
  },
);
