/**
 * Runs exported single-head predictors on one fixed random feature batch with onnxruntime-node,
 * for the export tests that compare a model edit against its reference; sessions are released
 * by `release` (call it from afterAll).
 */
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { splitMix32Random } from "@budgetfusion/shared/random/seeded-random";

export function scoreRunner(n: number, T: number, D: number, seed: number) {
  const ort = createNodeOrt(1);
  const released: Array<() => Promise<void>> = [];
  const r = splitMix32Random(seed);
  const x = Float32Array.from({ length: n * T * D }, () => r.uniform(-1, 1));
  return {
    async scores(model: Uint8Array): Promise<Float32Array> {
      const s = await ort.createSession(model);
      released.push(() => s.release());
      return (await s.run({ features: { type: "float32", data: x, dims: [n, T, D] } })).scores
        .data as Float32Array;
    },
    async release(): Promise<void> {
      for (const r of released) await r();
    },
  };
}
