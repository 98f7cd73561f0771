/**
 * The exported ONNX with the target-normalisation inverse baked in (outputAffine) equals the TS
 * forward followed by the inverse map (train/target-norm.ts) within 1e-5, and the map itself is
 * checked against hand-computed values; with outputGrid the interpolation nodes equal the TS
 * grid-interpolated forward too.
 */

import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { afterAll, describe, expect, it } from "vitest";
import { type Architecture, parseModelConfig } from "../model/config";
import { initParams, paramSpecs, viewParams } from "../model/params";
import { predict } from "../train/predict";
import { denormalise, fitTargetNorm, normaliseTargets } from "../train/target-norm";
import { exportPredictorOnnx } from "./onnx-export";

const ort = createNodeOrt(1);
const released: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const r of released) await r();
});

describe("target normalisation", () => {
  it("maps the training range onto [0.05, 0.95] and back", () => {
    // lo = 0.9, hi = 1.0: scale = 0.1 / 0.9, offset = 0.9 - 0.05 * scale.
    const norm = fitTargetNorm(Float32Array.of(0.9, 0.95, 1.0));
    expect(norm.lo).toBeCloseTo(0.9, 6);
    expect(norm.hi).toBeCloseTo(1.0, 6);
    expect(norm.scale).toBeCloseTo(0.1 / 0.9, 6);
    const y = normaliseTargets(Float32Array.of(0.9, 0.95, 1.0), norm);
    expect(Array.from(y).map((v) => Number(v.toFixed(5)))).toEqual([0.05, 0.5, 0.95]);
    const back = denormalise(y, norm);
    expect(
      Math.max(...Array.from(back).map((v, i) => Math.abs(v - [0.9, 0.95, 1.0][i]))),
    ).toBeLessThan(1e-6);
  });

  it("keeps de-normalised scores inside a metric's [0, 1] range", () => {
    // sigmoid 1.0 maps to 0.9 + 0.95 * (0.1 / 0.9) ≈ 1.0056 before the clamp; 0 maps below 0.9.
    const norm = fitTargetNorm(Float32Array.of(0.9, 1.0));
    const out = denormalise(Float32Array.of(0, 1), norm);
    expect(out[0]).toBeCloseTo(0.9 - 0.05 * (0.1 / 0.9), 6);
    expect(out[1]).toBe(1);
  });

  it("rejects empty targets", () => {
    expect(() => fitTargetNorm(new Float32Array(0))).toThrow(/targets/);
  });
});

describe.each<Architecture>(["bilstm", "mlp-tanh"])("%s export with outputAffine", (arch) => {
  const n = 3;
  const T = 11;
  const D = 8;
  const cfg = parseModelConfig({ architecture: arch, width: D, hidden: 6, mlp: 5 });
  const specs = paramSpecs(cfg);
  const { flat, map: params } = viewParams(specs);
  initParams(specs, flat, 7);
  const r = splitMix32Random(8);
  const x = Float32Array.from({ length: n * T * D }, () => r.uniform(-1, 1));
  const norm = fitTargetNorm(Float32Array.of(0.002, 0.11, 0.05));

  it("equals the TS predict followed by the inverse map within 1e-5", async () => {
    const want = denormalise(predict(params, { architecture: arch }, x, n), norm);
    const s = await ort.createSession(
      exportPredictorOnnx(params, { architecture: arch }, { outputAffine: norm }),
    );
    released.push(() => s.release());
    const out = await s.run({ features: { type: "float32", data: x, dims: [n, T, D] } });
    expect(out.scores.dims).toEqual([n, T]);
    const got = out.scores.data as Float32Array;
    let err = 0;
    for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
    expect(err).toBeLessThanOrEqual(1e-5);
    // The affine is really applied: values lie in the metric's range, not the sigmoid's.
    expect(Math.max(...Array.from(got))).toBeLessThan(0.2);
  });

  it("with outputGrid equals the TS grid-interpolated predict within 1e-5", async () => {
    const shape = { architecture: arch, outputGrid: [1, 2, 5, T] };
    const want = denormalise(predict(params, shape, x, n), norm);
    const s = await ort.createSession(exportPredictorOnnx(params, shape, { outputAffine: norm }));
    released.push(() => s.release());
    const out = await s.run({ features: { type: "float32", data: x, dims: [n, T, D] } });
    expect(out.scores.dims).toEqual([n, T]);
    const got = out.scores.data as Float32Array;
    let err = 0;
    for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
    expect(err).toBeLessThanOrEqual(1e-5);
    // Linear between grid steps 5 and 11: equal changes per step.
    const d = (t: number) => got[t] - got[t - 1];
    expect(d(7)).toBeCloseTo(d(9), 5);
  });

  it("rejects a zero scale", () => {
    expect(() =>
      exportPredictorOnnx(
        params,
        { architecture: arch },
        { outputAffine: { scale: 0, offset: 1 } },
      ),
    ).toThrow(/outputAffine/);
  });
});
