/**
 * The one ONNX graph builder, over onnx-proto (ONNX 1.10 protobuf types; opsets up to 15, see
 * docs/notes/training-in-typescript.md): named inputs and outputs, constants stored as
 * initializers, one call per node. The mini world's networks (@budgetfusion/world) and the trained
 * predictor's export (@budgetfusion/training) are both written with it. It lives in shared
 * because both need it and the world must not depend on training; it is pure (bytes in memory, no
 * I/O, no runtime), so the rule that shared stays runtime-neutral holds.
 *
 * Encoding is deterministic: the same calls give the same bytes. Names are `<prefix>_<n>` from
 * one counter unless the caller gives them.
 */
import onnxProto from "onnx-proto";
import { ValidationError } from "../errors";

const { onnx } = onnxProto;

export type OnnxDataType = "float32" | "int32" | "int64" | "int16";
const DT: Record<OnnxDataType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  int16: onnx.TensorProto.DataType.INT16,
};

/**
 * A node attribute: a string, a list of ints, or a number (INT when it is an integer, FLOAT
 * otherwise; an `f_` prefix on the name forces FLOAT and is dropped, for integral floats).
 */
export type OnnxAttr = number | number[] | string;

export interface NodeOptions {
  attrs?: Record<string, OnnxAttr>;
  /** Output count (fresh names `<opType>_<n>`) or the output names. Default 1. */
  outputs?: number | readonly string[];
  /** Node name; default: its first output's name. */
  name?: string;
}

export interface InitializerOptions {
  /** int64 only: store in `int64_data` instead of `raw_data` (same values, other bytes). */
  int64Data?: boolean;
}

export interface ModelOptions {
  producer: string;
  opset: number;
  /** Model doc string (e.g. what the model was trained on). */
  docString?: string;
}

type Dims = readonly (number | string)[];

/**
 * String attributes of the standard operators are ASCII keywords ("bidirectional", "constant");
 * encoding them here keeps shared free of the TextEncoder global (its lib is plain ES2022).
 */
function asciiBytes(attr: string, v: string): Uint8Array {
  const out = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c > 127)
      throw new ValidationError(`attribute ${attr}: "${v}" is not ASCII`, { field: attr });
    out[i] = c;
  }
  return out;
}

export class OnnxGraph {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly inits: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly ins: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private counter = 0;

  constructor(private readonly name: string) {}

  /** A new name `<prefix>_<n>`. */
  fresh(prefix: string): string {
    this.counter += 1;
    return `${prefix}_${this.counter}`;
  }

  private valueInfo(name: string, type: OnnxDataType, dims: Dims) {
    return onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType: DT[type],
          shape: {
            dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
          },
        },
      },
    });
  }

  input(name: string, type: OnnxDataType, dims: Dims): string {
    this.ins.push(this.valueInfo(name, type, dims));
    return name;
  }

  /** Marks `value` as a graph output called `name` (through an Identity when they differ). */
  output(value: string, name: string, type: OnnxDataType, dims: Dims): void {
    if (value !== name)
      this.nodes.push(
        onnx.NodeProto.create({
          opType: "Identity",
          input: [value],
          output: [name],
          name: this.fresh("Identity"),
        }),
      );
    this.outs.push(this.valueInfo(name, type, dims));
  }

  /** Renames the value a node produced, e.g. the last node's output to the graph output's name. */
  renameOutput(value: string, name: string): void {
    for (const node of this.nodes) {
      node.output = node.output.map((o) => (o === value ? name : o));
      node.input = node.input.map((i) => (i === value ? name : i));
    }
  }

  /** A named constant tensor (initializer). Scalars: dims []. */
  initializer(
    name: string,
    data: ArrayLike<number>,
    dims: number[],
    type: OnnxDataType = "float32",
    options: InitializerOptions = {},
  ): string {
    if (type === "int64" && options.int64Data) {
      this.inits.push(
        onnx.TensorProto.create({ name, dims, dataType: DT.int64, int64Data: Array.from(data) }),
      );
      return name;
    }
    let raw: Uint8Array;
    if (type === "float32") raw = new Uint8Array(Float32Array.from(data).buffer);
    else if (type === "int32") raw = new Uint8Array(Int32Array.from(data).buffer);
    else if (type === "int16") raw = new Uint8Array(Int16Array.from(data).buffer);
    else raw = new Uint8Array(BigInt64Array.from(Array.from(data, (v) => BigInt(v))).buffer);
    this.inits.push(onnx.TensorProto.create({ name, dims, dataType: DT[type], rawData: raw }));
    return name;
  }

  /** A constant with a fresh name `<hint>_<n>`. */
  const(data: ArrayLike<number>, dims: number[], type: OnnxDataType = "float32", hint = "c") {
    return this.initializer(this.fresh(hint), data, dims, type);
  }

  scalar(v: number): string {
    return this.const([v], [], "float32", "s");
  }

  ints(v: number[]): string {
    return this.const(v, [v.length], "int64", "i");
  }

  /** Adds one node; returns its output names. */
  node(opType: string, inputs: readonly string[], options: NodeOptions = {}): string[] {
    const out = options.outputs ?? 1;
    const outputs =
      typeof out === "number" ? Array.from({ length: out }, () => this.fresh(opType)) : [...out];
    const attribute = Object.entries(options.attrs ?? {}).map(([name, v]) => {
      if (typeof v === "string")
        return onnx.AttributeProto.create({
          name,
          type: onnx.AttributeProto.AttributeType.STRING,
          s: asciiBytes(name, v),
        });
      if (Array.isArray(v))
        return onnx.AttributeProto.create({
          name,
          type: onnx.AttributeProto.AttributeType.INTS,
          ints: v,
        });
      if (Number.isInteger(v) && !name.startsWith("f_"))
        return onnx.AttributeProto.create({
          name,
          type: onnx.AttributeProto.AttributeType.INT,
          i: v,
        });
      return onnx.AttributeProto.create({
        name: name.replace(/^f_/, ""),
        type: onnx.AttributeProto.AttributeType.FLOAT,
        f: v,
      });
    });
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        input: [...inputs],
        output: outputs,
        name: options.name ?? outputs[0],
        attribute,
      }),
    );
    return outputs;
  }

  /** A single-output node; returns its output. */
  op(opType: string, inputs: string[], attrs: Record<string, OnnxAttr> = {}): string {
    return this.node(opType, inputs, { attrs })[0];
  }

  // Shorthands for the elementwise ops the world's graphs use most.
  add(a: string, b: string) {
    return this.op("Add", [a, b]);
  }
  sub(a: string, b: string) {
    return this.op("Sub", [a, b]);
  }
  mul(a: string, b: string) {
    return this.op("Mul", [a, b]);
  }
  div(a: string, b: string) {
    return this.op("Div", [a, b]);
  }
  matmul(a: string, b: string) {
    return this.op("MatMul", [a, b]);
  }
  /** Slice along one axis: [start, end). */
  slice(x: string, axis: number, start: number, end: number) {
    return this.op("Slice", [x, this.ints([start]), this.ints([end]), this.ints([axis])]);
  }
  reshape(x: string, shape: number[]) {
    return this.op("Reshape", [x, this.ints(shape)]);
  }
  unsqueeze(x: string, axes: number[]) {
    return this.op("Unsqueeze", [x, this.ints(axes)]);
  }
  reduceSum(x: string, axes: number[], keepdims = 0) {
    return this.op("ReduceSum", [x, this.ints(axes)], { keepdims });
  }

  /** Serialises the model (IR 7): bytes of a ModelProto. */
  toBytes(model: ModelOptions): Uint8Array {
    const proto = onnx.ModelProto.create({
      irVersion: 7,
      producerName: model.producer,
      producerVersion: "1",
      ...(model.docString === undefined ? {} : { docString: model.docString }),
      opsetImport: [{ domain: "", version: model.opset }],
      graph: onnx.GraphProto.create({
        name: this.name,
        node: this.nodes,
        initializer: this.inits,
        input: this.ins,
        output: this.outs,
      }),
    });
    return onnx.ModelProto.encode(proto).finish();
  }
}
