/**
 * Appends nodes after a named output of an existing ONNX model: the original output is renamed,
 * the new nodes read it and write the output's name, so callers (the edge, onnxruntime) see the
 * same interface. Used by the L-SNR conversion (bundle/lsnr-conversion.ts) and the settled dead
 * zone (export/onnx-dead-zone.ts). onnx-proto decodes and encodes; this only wires names, which
 * no library does for a graph already built.
 */
import { ValidationError } from "@budgetfusion/shared/errors";
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

export interface OutputAppender {
  /** A tensor or node name the graph does not use yet, from `base`. */
  fresh(base: string): string;
  /** A float32 initializer with a fresh name from `base`; returns the name. */
  float(base: string, dims: readonly number[], values: readonly number[]): string;
  /** An int64 initializer with a fresh name from `base`; returns the name. */
  int64(base: string, dims: readonly number[], values: readonly number[]): string;
  /** Appends one node. */
  node(opType: string, name: string, inputs: string[], output: string, axis?: number): void;
}

/**
 * `model` with `build`'s nodes after `output`: `build` gets the renamed original (a fresh name
 * from `renamedBase`) and must write its last node to `output`.
 */
export function appendAfterOutput(
  model: Uint8Array,
  output: string,
  renamedBase: string,
  build: (before: string, g: OutputAppender) => void,
): Uint8Array {
  const m = onnx.ModelProto.decode(model);
  const graph = m.graph;
  if (!graph?.output?.some((o) => o.name === output))
    throw new ValidationError(`the ONNX graph has no output "${output}"`, {
      field: "predictor.output",
    });
  const names = new Set([
    ...(graph.node ?? []).flatMap((n) => [...(n.input ?? []), ...(n.output ?? []), n.name ?? ""]),
    ...(graph.initializer ?? []).map((t) => t.name ?? ""),
  ]);
  const fresh = (base: string) => {
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };
  const before = fresh(renamedBase);
  for (const node of graph.node ?? []) {
    node.output = (node.output ?? []).map((o) => (o === output ? before : o));
    node.input = (node.input ?? []).map((i) => (i === output ? before : i));
  }
  const initializers = [...(graph.initializer ?? [])];
  const nodes = [...(graph.node ?? [])];
  const initializer = (
    base: string,
    dims: readonly number[],
    dataType: number,
    rawData: Uint8Array,
  ) => {
    const name = fresh(base);
    initializers.push(onnx.TensorProto.create({ name, dims: [...dims], dataType, rawData }));
    return name;
  };
  build(before, {
    fresh,
    float: (base, dims, values) =>
      initializer(
        base,
        dims,
        onnx.TensorProto.DataType.FLOAT,
        new Uint8Array(Float32Array.from(values).buffer),
      ),
    int64: (base, dims, values) =>
      initializer(
        base,
        dims,
        onnx.TensorProto.DataType.INT64,
        new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer),
      ),
    node: (opType, name, inputs, out, axis) => {
      nodes.push(
        onnx.NodeProto.create({
          opType,
          name: fresh(name),
          input: inputs,
          output: [out],
          ...(axis === undefined
            ? {}
            : {
                attribute: [
                  onnx.AttributeProto.create({
                    name: "axis",
                    type: onnx.AttributeProto.AttributeType.INT,
                    i: axis,
                  }),
                ],
              }),
        }),
      );
    },
  });
  graph.initializer = initializers;
  graph.node = nodes;
  return onnx.ModelProto.encode(m).finish();
}
