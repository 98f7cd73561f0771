/**
 * BiLSTM tail padding (config.ts tailPad): the padded network equals the plain one run over the
 * input extended by k copies of its last step with those k outputs dropped; its exported ONNX
 * equals the TS forward; mlp-tanh ignores it; gradients match finite differences
 * (predictor.test.ts covers the loss with padding too).
 */

import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { afterAll, describe, expect, it } from "vitest";
import { exportPredictorOnnx } from "../export/onnx-export";
import { predict } from "../train/predict";
import { parseModelConfig } from "./config";
import { initParams, paramSpecs, viewParams } from "./params";

const n = 2;
const T = 7;
const D = 5;
const k = 4;
const ort = createNodeOrt(1);
const released: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const r of released) await r();
});

function setup(arch: "bilstm" | "mlp-tanh") {
  const cfg = parseModelConfig({ architecture: arch, width: D, hidden: 4, mlp: 3 });
  const specs = paramSpecs(cfg);
  const { flat, map } = viewParams(specs);
  initParams(specs, flat, 11);
  // Larger weights so the reverse direction's start-up transient is visible.
  for (let i = 0; i < flat.length; i++) flat[i] *= 3;
  const r = splitMix32Random(12);
  const x = Float32Array.from({ length: n * T * D }, () => r.uniform(-1, 1));
  return { map, x };
}

/** x [n, T, D] extended to [n, T + k, D] by repeating each sequence's last step. */
function extend(x: Float32Array): Float32Array {
  const out = new Float32Array(n * (T + k) * D);
  for (let b = 0; b < n; b++) {
    out.set(x.subarray(b * T * D, (b + 1) * T * D), b * (T + k) * D);
    const last = x.subarray((b * T + T - 1) * D, (b * T + T) * D);
    for (let j = 0; j < k; j++) out.set(last, (b * (T + k) + T + j) * D);
  }
  return out;
}

describe("tailPad", () => {
  it("equals the unpadded network on the extended input, cropped to the real steps", () => {
    const { map, x } = setup("bilstm");
    const padded = predict(map, { architecture: "bilstm", tailPad: k }, x, n);
    const long = predict(map, { architecture: "bilstm" }, extend(x), n);
    const plain = predict(map, { architecture: "bilstm" }, x, n);
    let err = 0;
    let changed = 0;
    for (let b = 0; b < n; b++)
      for (let t = 0; t < T; t++) {
        err = Math.max(err, Math.abs(padded[b * T + t] - long[b * (T + k) + t]));
        changed = Math.max(changed, Math.abs(padded[b * T + t] - plain[b * T + t]));
      }
    expect(err).toBeLessThan(1e-6);
    // Padding really changes what the reverse direction sees near the end.
    expect(changed).toBeGreaterThan(1e-4);
  });

  it("exports to ONNX that equals the TS forward within 1e-6 and keeps [batch, steps]", async () => {
    const { map, x } = setup("bilstm");
    const want = predict(map, { architecture: "bilstm", tailPad: k }, x, n);
    const s = await ort.createSession(
      exportPredictorOnnx(map, { architecture: "bilstm", tailPad: k }),
    );
    released.push(() => s.release());
    const out = await s.run({ features: { type: "float32", data: x, dims: [n, T, D] } });
    expect(out.scores.dims).toEqual([n, T]);
    const got = out.scores.data as Float32Array;
    expect(Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i])))).toBeLessThan(1e-6);
  });

  it("is ignored by the per-step mlp-tanh", () => {
    const { map, x } = setup("mlp-tanh");
    const a = predict(map, { architecture: "mlp-tanh", tailPad: k }, x, n);
    const b = predict(map, { architecture: "mlp-tanh" }, x, n);
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});
