/**
 * The ONNX export (training/src/export/onnx-export.ts) run by onnxruntime-node reproduces
 * (a) PyTorch's output on fixtures/lstm-ref with the fixture parameters, (b) our TS forward,
 * (c) the fixture's own torch-exported small.onnx / dense.onnx on the same input, and
 * (d) the TS forward of the mlp-tanh and 3-head variants (random seeded parameters).
 * Measure: max|a-b| / max|b| over the output tensor (maxScaledDiff) <= 1e-5.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { maxScaledDiff, readF32 } from "@budgetfusion/test-helpers/fixtures";
import { LSTM_REF_DIR, lstmRefCases } from "@budgetfusion/test-helpers/lstm-ref";
import { exportPredictorOnnx } from "@budgetfusion/training/export/onnx-export";
import { type Architecture, parseModelConfig } from "@budgetfusion/training/model/config";
import { initParams, paramSpecs, viewParams } from "@budgetfusion/training/model/params";
import { predict } from "@budgetfusion/training/train/predict";
import type { onnx as OnnxNs } from "onnx-proto";
import { afterAll, describe, expect, it } from "vitest";

const { onnx } = createRequire(import.meta.url)("onnx-proto") as { onnx: typeof OnnxNs };
const ort = createNodeOrt(1);
const TOL = 1e-5;

const dir = LSTM_REF_DIR;
const ref = { cases: lstmRefCases() };
const released: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const r of released) await r();
});

async function run(
  model: Uint8Array,
  x: Float32Array,
  dims: number[],
): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const s = await ort.createSession(model);
  released.push(() => s.release());
  const out = await s.run({ features: { type: "float32", data: x, dims } });
  return { data: out.scores.data as Float32Array, dims: out.scores.dims };
}

describe.each(ref.cases)("lstm-ref $name exported to ONNX", (c) => {
  const cfg = parseModelConfig({ width: c.din, hidden: c.hidden, mlp: c.mlp });
  const { map: params } = viewParams(paramSpecs(cfg));
  for (const [name, t] of params) t.data.set(readF32(dir, c.params[name]).data);
  const x = readF32(dir, c.input).data;
  const dims = [c.batch, c.seq, c.din];
  const bytes = exportPredictorOnnx(params, { architecture: "bilstm" });

  it("uses the standard bidirectional LSTM operator at opset 14", () => {
    const m = onnx.ModelProto.decode(bytes);
    expect(Number(m.opsetImport[0].version)).toBe(14);
    // Decoded messages carry every repeated field (protobufjs fills them with []).
    const g = m.graph as OnnxNs.GraphProto;
    const lstm = g.node.filter((n) => n.opType === "LSTM");
    expect(lstm).toHaveLength(2);
    for (const n of lstm) {
      const dir = (n as OnnxNs.NodeProto).attribute.find((a) => a.name === "direction");
      expect(new TextDecoder().decode(dir?.s ?? new Uint8Array())).toBe("bidirectional");
    }
    expect(g.input[0].name).toBe("features");
    expect(g.output[0].name).toBe("scores");
  });

  it("reproduces torch, the TS forward and the fixture's ONNX within 1e-5", async () => {
    const ours = await run(bytes, x, dims);
    expect(ours.dims).toEqual([c.batch, c.seq]);
    expect(maxScaledDiff(ours.data, readF32(dir, c.output).data)).toBeLessThanOrEqual(TOL);
    expect(
      maxScaledDiff(ours.data, predict(params, { architecture: "bilstm" }, x, c.batch)),
    ).toBeLessThanOrEqual(TOL);
    const theirs = await run(new Uint8Array(readFileSync(join(LSTM_REF_DIR, c.onnx))), x, dims);
    expect(maxScaledDiff(ours.data, theirs.data)).toBeLessThanOrEqual(TOL);
  });
});

describe.each(["mlp-tanh", "bilstm-3head"] as Architecture[])("%s exported to ONNX", (arch) => {
  const n = 3;
  const T = 17;
  const D = 12;
  const cfg = parseModelConfig({ architecture: arch, width: D, hidden: 10, mlp: 6 });
  const specs = paramSpecs(cfg);
  const { flat, map: params } = viewParams(specs);
  initParams(specs, flat, 21);
  const r = splitMix32Random(22);
  const x = Float32Array.from({ length: n * T * D }, () => r.uniform(-1, 1));
  const want = predict(params, { architecture: arch }, x, n);

  it("reproduces the TS forward within 1e-5", async () => {
    const out = await run(exportPredictorOnnx(params, { architecture: arch }), x, [n, T, D]);
    expect(out.dims).toEqual(arch === "bilstm-3head" ? [n, T, 3] : [n, T]);
    expect(maxScaledDiff(out.data, want)).toBeLessThanOrEqual(TOL);
  });
});

describe("bilstm-3head per-head export", () => {
  const arch: Architecture = "bilstm-3head";
  const n = 2;
  const T = 9;
  const D = 7;
  const cfg = parseModelConfig({ architecture: arch, width: D, hidden: 5, mlp: 4 });
  const specs = paramSpecs(cfg);
  const { flat, map: params } = viewParams(specs);
  initParams(specs, flat, 31);
  const r = splitMix32Random(32);
  const x = Float32Array.from({ length: n * T * D }, () => r.uniform(-1, 1));
  const want = predict(params, { architecture: arch }, x, n);

  it("exports each head alone as scores [batch, steps] equal to that column", async () => {
    for (let h = 0; h < 3; h++) {
      const out = await run(exportPredictorOnnx(params, { architecture: arch }, { head: h }), x, [
        n,
        T,
        D,
      ]);
      expect(out.dims).toEqual([n, T]);
      const col = want.filter((_, i) => i % 3 === h);
      expect(maxScaledDiff(out.data, col)).toBeLessThanOrEqual(TOL);
    }
    expect(() => exportPredictorOnnx(params, { architecture: arch }, { head: 3 })).toThrow(/head/);
  });
});
