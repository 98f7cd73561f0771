/**
 * The edge forms' ONNX files in onnxruntime-node: the exact form (layer-1 step projection, one
 * session) equals the teacher's own exported files within 1e-5 for per-metric teachers (tail
 * padding, target de-normalisation, both step positions) and a 3-head teacher; the student's
 * file equals its TypeScript forward.
 */
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { METRIC_NAMES } from "@budgetfusion/shared/predictor/bundle-manifest";
import {
  defaultStepEncoding,
  predictorFeatures,
} from "@budgetfusion/shared/predictor/step-encoding";
import { describe, expect, it } from "vitest";
import { createStudent, studentPredict } from "../distill/student-mlp";
import { type Architecture, parseModelConfig } from "../model/config";
import { initParams, paramSpecs, viewParams } from "../model/params";
import { exportExactEdgeForm, exportStudentOnnx } from "./edge-form-export";
import { exportPredictorOnnx } from "./onnx-export";

const ort = createNodeOrt(1);
const D = 12;
const DENSE = 129;

function params(architecture: Architecture, seed: number) {
  const specs = paramSpecs(parseModelConfig({ architecture, width: D, hidden: 6, mlp: 5 }));
  const { flat, map } = viewParams(specs);
  initParams(specs, flat, seed);
  return map;
}

function unit(seed: number): Float32Array {
  const v = Float32Array.from({ length: D }, (_, i) => Math.sin(seed * 7.1 + i * 1.3));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

async function run(bytes: Uint8Array, name: string, data: Float32Array, dims: number[]) {
  const s = await ort.createSession(bytes);
  const out = (await s.run({ [name]: { type: "float32", data, dims } })).scores;
  await s.release();
  return { data: out.data as Float32Array, dims: out.dims };
}

const maxAbs = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe("exact edge form", () => {
  it.each(["step", "log_step"] as const)(
    "equals three per-metric teachers (%s position) within 1e-5",
    async (position) => {
      const enc = defaultStepEncoding(D, position);
      const affine = { scale: 0.7, offset: 0.1 };
      const teachers = METRIC_NAMES.map((_, k) => ({
        params: params("bilstm", 40 + k),
        architecture: "bilstm" as const,
        tailPad: k,
        outputAffine: k === 2 ? undefined : affine,
      }));
      const exact = exportExactEdgeForm(teachers, enc, DENSE);
      for (const seed of [1, 2]) {
        const p = unit(seed);
        const got = await run(exact, "embedding", p, [1, D]);
        expect(got.dims).toEqual([1, DENSE, 3]);
        const x = predictorFeatures(p, 1, DENSE, enc);
        for (const [k, t] of teachers.entries()) {
          const file = exportPredictorOnnx(
            t.params,
            t,
            t.outputAffine ? { outputAffine: affine } : {},
          );
          const ref = (await run(file, "features", x, [1, DENSE, D])).data;
          const col = Float32Array.from({ length: DENSE }, (_, i) => got.data[i * 3 + k]);
          expect(maxAbs(col, ref)).toBeLessThanOrEqual(1e-5);
        }
      }
    },
  );

  it("equals a 3-head teacher within 1e-5", async () => {
    const enc = defaultStepEncoding(D);
    const t = {
      params: params("bilstm-3head", 77),
      architecture: "bilstm-3head" as const,
      tailPad: 2,
    };
    const p = unit(3);
    const got = await run(exportExactEdgeForm([t], enc, DENSE), "embedding", p, [1, D]);
    const ref = await run(
      exportPredictorOnnx(t.params, t),
      "features",
      predictorFeatures(p, 1, DENSE, enc),
      [1, DENSE, D],
    );
    expect(maxAbs(got.data, ref.data)).toBeLessThanOrEqual(1e-5);
  });

  it("refuses anything but three heads of BiLSTM", () => {
    const enc = defaultStepEncoding(D);
    expect(() => exportExactEdgeForm([{ params: params("bilstm", 1) }], enc, DENSE)).toThrow(
      /teachers/,
    );
    expect(() =>
      exportExactEdgeForm(
        METRIC_NAMES.map((_, k) => ({
          params: params("mlp-tanh", k),
          architecture: "mlp-tanh" as const,
        })),
        enc,
        DENSE,
      ),
    ).toThrow(/teachers/);
  });
});

describe("student edge form", () => {
  it("runs as its TypeScript forward does", async () => {
    const s = createStudent(D, 7, DENSE * 3, new Float32Array(DENSE * 3).fill(0.5), 5);
    for (let i = 0; i < s.w2.length; i++) s.w2[i] *= 10;
    const p = unit(4);
    const got = await run(exportStudentOnnx(s, DENSE), "embedding", p, [1, D]);
    expect(got.dims).toEqual([1, DENSE, 3]);
    expect(maxAbs(got.data, studentPredict(s, p, 1))).toBeLessThanOrEqual(1e-6);
  });
});
