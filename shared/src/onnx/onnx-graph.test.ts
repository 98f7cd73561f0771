/**
 * What the builder writes, read back with onnx-proto's decoder (running graphs is the world's and
 * the export's tests' job, under onnxruntime): names, attribute types, initializer storage,
 * renaming the final value, and a clear error for a non-ASCII string attribute.
 */
import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors";
import { OnnxGraph } from "./onnx-graph";

const { onnx } = onnxProto;

/** protobuf's optional fields, asserted present. */
function req<T>(v: T | null | undefined): T {
  expect(v).toBeDefined();
  expect(v).not.toBeNull();
  return v as T;
}

function build(): Uint8Array {
  const g = new OnnxGraph("t");
  const x = g.input("x", "float32", ["batch", 3]);
  const y = g.node("LeakyRelu", [g.mul(x, g.scalar(2))], { attrs: { f_alpha: 1, axis: 1 } })[0];
  const pads = g.initializer("pads", [0, 1], [2], "int64", { int64Data: true });
  const z = g.op("Pad", [y, pads], { mode: "constant" });
  g.renameOutput(z, "out");
  g.output("out", "out", "float32", ["batch", 4]);
  return g.toBytes({ producer: "test", opset: 13, docString: "d" });
}

describe("OnnxGraph", () => {
  it("writes nodes, initializers and attributes as ONNX expects", () => {
    const m = onnx.ModelProto.decode(build());
    expect(Number(m.opsetImport[0].version)).toBe(13);
    expect(m.docString).toBe("d");
    const graph = req(m.graph);
    const [mul, relu, pad] = req(graph.node);
    expect(mul.output).toEqual(["Mul_2"]);
    expect(mul.name).toBe("Mul_2");
    expect(req(relu.attribute).map((a) => [a.name, a.type])).toEqual([
      ["alpha", onnx.AttributeProto.AttributeType.FLOAT],
      ["axis", onnx.AttributeProto.AttributeType.INT],
    ]);
    expect(new TextDecoder().decode(req(req(pad.attribute)[0].s))).toBe("constant");
    expect(pad.output).toEqual(["out"]);
    const inits = req(graph.initializer);
    expect(inits.map((t) => t.name)).toEqual(["s_1", "pads"]);
    expect(req(inits[1].int64Data).map(Number)).toEqual([0, 1]);
    expect(inits[1].rawData?.length ?? 0).toBe(0);
    expect(req(graph.output).map((o) => o.name)).toEqual(["out"]);
  });

  it("is deterministic", () => {
    expect(build()).toEqual(build());
  });

  it("refuses a string attribute that is not ASCII, naming it", () => {
    const g = new OnnxGraph("t");
    expect(() => g.op("Pad", ["x"], { mode: "cönstant" })).toThrow(ValidationError);
  });
});
