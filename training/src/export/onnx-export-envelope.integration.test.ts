/**
 * The exported monotone envelope (model/curve-envelope.ts) equals, within 1e-5, the TS forward
 * read at the grid steps, enveloped by curveEnvelope and interpolated; its curves are monotone;
 * and an export without a grid is refused.
 */
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { interpolateDense } from "@budgetfusion/shared/grid/step-grid";
import { splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { afterAll, describe, expect, it } from "vitest";
import { parseModelConfig } from "../model/config";
import { type CurveDirection, curveEnvelope } from "../model/curve-envelope";
import { initParams, paramSpecs, viewParams } from "../model/params";
import { predict } from "../train/predict";
import { exportPredictorOnnx } from "./onnx-export";

const ort = createNodeOrt(1);
const released: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const r of released) await r();
});

const [n, T, D] = [4, 11, 8];
const GRID = [1, 2, 3, 5, 8, T];
const cfg = parseModelConfig({ architecture: "bilstm", width: D, hidden: 6, mlp: 5 });
const specs = paramSpecs(cfg);
const { flat, map: params } = viewParams(specs);
// Large weights: raw curves that wiggle both ways, so the envelope has work to do.
initParams(specs, flat, 11);
for (let i = 0; i < flat.length; i++) flat[i] *= 3;
const r = splitMix32Random(12);
const x = Float32Array.from({ length: n * T * D }, () => r.uniform(-1, 1));
const shape = { architecture: "bilstm" as const, outputGrid: GRID };

describe.each<CurveDirection>(["falling", "rising"])("%s envelope in the export", (direction) => {
  it("equals grid outputs -> curveEnvelope -> interpolation, and is monotone", async () => {
    // predict() with a grid already interpolates; reading it at the grid steps gives the outputs.
    const dense = predict(params, shape, x, n);
    const atGrid = new Float32Array(n * GRID.length);
    for (let b = 0; b < n; b++)
      for (const [k, t] of GRID.entries()) atGrid[b * GRID.length + k] = dense[b * T + t - 1];
    const env = curveEnvelope(atGrid, n, GRID.length, direction);
    expect(env.some((v, i) => v !== atGrid[i])).toBe(true);
    const s = await ort.createSession(exportPredictorOnnx(params, shape, { monotone: direction }));
    released.push(() => s.release());
    const got = (await s.run({ features: { type: "float32", data: x, dims: [n, T, D] } })).scores
      .data as Float32Array;
    let err = 0;
    for (let b = 0; b < n; b++) {
      const want = interpolateDense(env.subarray(b * GRID.length, (b + 1) * GRID.length), GRID, T);
      for (let t = 0; t < T; t++) {
        err = Math.max(err, Math.abs(got[b * T + t] - want[t]));
        if (t > 0) {
          const step = got[b * T + t] - got[b * T + t - 1];
          expect(direction === "falling" ? step <= 1e-6 : step >= -1e-6).toBe(true);
        }
      }
    }
    expect(err).toBeLessThanOrEqual(1e-5);
  });
});

describe("envelope export refusals", () => {
  it("needs an output grid", () => {
    expect(() =>
      exportPredictorOnnx(params, { architecture: "bilstm" }, { monotone: "falling" }),
    ).toThrow(/monotone: needs a model with an output grid/);
  });
});
