/**
 * The exported monotone envelope (model/curve-envelope.ts) equals, within 1e-5, the TS forward
 * read at the grid steps, enveloped by curveEnvelope and interpolated; its curves are monotone;
 * and an export without a grid is refused.
 *
 * A head trained in the log-quality space (train/target-norm.ts) exports to metric values:
 * dense, it equals the TS forward followed by denormalise within 1e-5; with a grid and the
 * envelope, it equals grid outputs -> affine -> envelope in log q -> interpolation in log q ->
 * 1 - exp (L-SNR) or exp (I-CLIP), and its curves move the metric's way.
 */
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { interpolateDense } from "@budgetfusion/shared/grid/step-grid";
import type { MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";
import { splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { afterAll, describe, expect, it } from "vitest";
import { parseModelConfig } from "../model/config";
import { type CurveDirection, curveEnvelope, METRIC_DIRECTION } from "../model/curve-envelope";
import { initParams, paramSpecs, viewParams } from "../model/params";
import { predict } from "../train/predict";
import { denormalise, fitTargetNorm, normaliseTargets } from "../train/target-norm";
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

async function run(bytes: Uint8Array): Promise<Float32Array> {
  const s = await ort.createSession(bytes);
  released.push(() => s.release());
  return (await s.run({ features: { type: "float32", data: x, dims: [n, T, D] } })).scores
    .data as Float32Array;
}

describe("log-quality target space", () => {
  it("round-trips metric values through log q (L-SNR: q = 1 - v; I-CLIP: q = v)", () => {
    const lsnr = Float32Array.of(0.98, 0.9, 0.6);
    const norm = fitTargetNorm(lsnr, "log-quality", "lsnr");
    expect(norm.lo).toBeCloseTo(Math.log(0.02), 5);
    expect(norm.hi).toBeCloseTo(Math.log(0.4), 5);
    const y = normaliseTargets(lsnr, norm);
    expect(y[0]).toBeCloseTo(0.05, 5);
    expect(y[2]).toBeCloseTo(0.95, 5);
    const back = denormalise(y, norm);
    for (let i = 0; i < 3; i++) expect(back[i]).toBeCloseTo(lsnr[i], 5);
    const iclip = Float32Array.of(0.5, 0.8);
    const n2 = fitTargetNorm(iclip, "log-quality", "iclip");
    expect(n2.lo).toBeCloseTo(Math.log(0.5), 5);
    expect(Array.from(denormalise(normaliseTargets(iclip, n2), n2))).toEqual(
      Array.from(iclip).map((v) => expect.closeTo(v, 5)),
    );
  });

  it("needs the metric", () => {
    expect(() => fitTargetNorm(Float32Array.of(0.5), "log-quality")).toThrow(/metric/);
    const noMetric = { scale: 1, offset: 0, space: "log-quality" as const };
    expect(() =>
      exportPredictorOnnx(params, { architecture: "bilstm" }, { outputAffine: noMetric }),
    ).toThrow(/outputAffine\.metric/);
  });

  it.each<MetricName>(["lsnr", "iclip"])(
    "%s dense export equals denormalise(predict)",
    async (m) => {
      const norm = fitTargetNorm(Float32Array.of(0.55, 0.8, 0.97), "log-quality", m);
      const shape = { architecture: "bilstm" as const };
      const want = denormalise(predict(params, shape, x, n), norm);
      const got = await run(exportPredictorOnnx(params, shape, { outputAffine: norm }));
      let err = 0;
      for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
      expect(err).toBeLessThanOrEqual(1e-5);
    },
  );

  it.each<MetricName>(["lsnr", "iclip"])(
    "%s grid export with the envelope interpolates in log q and is monotone",
    async (m) => {
      const norm = fitTargetNorm(Float32Array.of(0.55, 0.8, 0.97), "log-quality", m);
      const shape = { architecture: "bilstm" as const, outputGrid: GRID };
      const got = await run(
        exportPredictorOnnx(params, shape, { outputAffine: norm, monotone: METRIC_DIRECTION[m] }),
      );
      // Reference: normalised grid outputs -> log q -> envelope (log q rises for both) -> interp.
      const dense = predict(params, shape, x, n);
      const logQ = new Float32Array(n * GRID.length);
      for (let b = 0; b < n; b++)
        for (const [k, t] of GRID.entries())
          logQ[b * GRID.length + k] = norm.scale * dense[b * T + t - 1] + norm.offset;
      const env = curveEnvelope(logQ, n, GRID.length, "rising");
      expect(env.some((v, i) => v !== logQ[i])).toBe(true);
      let err = 0;
      for (let b = 0; b < n; b++) {
        const lq = interpolateDense(env.subarray(b * GRID.length, (b + 1) * GRID.length), GRID, T);
        for (let t = 0; t < T; t++) {
          const q = Math.exp(lq[t]);
          const want = Math.min(Math.max(m === "iclip" ? q : 1 - q, 0), 1);
          err = Math.max(err, Math.abs(got[b * T + t] - want));
          if (t > 0) {
            const step = got[b * T + t] - got[b * T + t - 1];
            expect(METRIC_DIRECTION[m] === "falling" ? step <= 1e-6 : step >= -1e-6).toBe(true);
          }
        }
      }
      expect(err).toBeLessThanOrEqual(1e-5);
    },
  );
});
