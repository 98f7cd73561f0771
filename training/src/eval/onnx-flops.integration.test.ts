import { createRequire } from "node:module";
import { join } from "node:path";
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { FIXTURES } from "@budgetfusion/test-helpers/fixtures";
import type { onnx as OnnxNs } from "onnx-proto";
import { describe, expect, it } from "vitest";
import { countOnnxFlops } from "./onnx-flops";
import { generationTflops, measureSdCost } from "./sd-cost";

const { onnx } = createRequire(import.meta.url)("onnx-proto") as { onnx: typeof OnnxNs };

/** x [2,3] -> MatMul W [3,4] -> Add b [4] -> Relu; then Conv on a [1,2,5,5] image with a 3x3 kernel. */
function tinyModel(): Uint8Array {
  const f = (name: string, dims: number[]) =>
    onnx.TensorProto.create({
      name,
      dims,
      dataType: 1,
      floatData: new Array(dims.reduce((a, b) => a * b, 1)).fill(0.5),
    });
  const vi = (name: string, dims: number[]) =>
    onnx.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
    });
  const graph = onnx.GraphProto.create({
    name: "g",
    node: [
      onnx.NodeProto.create({ opType: "MatMul", input: ["x", "W"], output: ["m"] }),
      onnx.NodeProto.create({ opType: "Add", input: ["m", "b"], output: ["a"] }),
      onnx.NodeProto.create({ opType: "Relu", input: ["a"], output: ["y"] }),
      onnx.NodeProto.create({
        opType: "Conv",
        input: ["img", "K"],
        output: ["c"],
        attribute: [onnx.AttributeProto.create({ name: "pads", type: 7, ints: [1, 1, 1, 1] })],
      }),
    ],
    initializer: [f("W", [3, 4]), f("b", [4]), f("K", [6, 2, 3, 3])],
    input: [vi("x", [2, 3]), vi("img", [1, 2, 5, 5])],
    output: [vi("y", [2, 4]), vi("c", [1, 6, 5, 5])],
  });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: "", version: 17 }], graph }),
  ).finish();
}

describe("ONNX FLOP counting", () => {
  it("counts MatMul/Conv as 2 x MACs and elementwise ops as one per element (hand-computed)", async () => {
    const res = await countOnnxFlops(createNodeOrt(1), tinyModel(), {
      x: { type: "float32", data: new Float32Array(6), dims: [2, 3] },
      img: { type: "float32", data: new Float32Array(50), dims: [1, 2, 5, 5] },
    });
    // MatMul 2*(2*4)*3 = 48; Add 8; Relu 8; Conv 2 * (6*5*5) * (2*3*3) = 5400
    expect(res.byOp).toEqual({ MatMul: 48, Add: 8, Relu: 8, Conv: 5400 });
    expect(res.total).toBe(5464);
  });

  it("measures tiny-sd2 component costs; eta grows by one CFG UNet pass per step", async () => {
    const cost = await measureSdCost(createNodeOrt(1), join(FIXTURES, "tiny-sd2"), {
      width: 64,
      height: 64,
      guidanceScale: 7.5,
    });
    expect(cost.unetStepFlops).toBeGreaterThan(0);
    expect(cost.textFlops).toBeGreaterThan(0);
    expect(cost.vaeFlops).toBeGreaterThan(0);
    const half = await measureSdCost(createNodeOrt(1), join(FIXTURES, "tiny-sd2"), {
      width: 64,
      height: 64,
      guidanceScale: 1,
    });
    // guidance 1 runs one branch: half the UNet work of the CFG batch (up to the few
    // batch-independent timestep-embedding ops)
    expect(Math.abs(half.unetStepFlops * 2 - cost.unetStepFlops) / cost.unetStepFlops).toBeLessThan(
      1e-5,
    );
    expect(generationTflops(cost, 10) - generationTflops(cost, 9)).toBeCloseTo(
      cost.unetStepFlops / 1e12,
      15,
    );
  });
});
