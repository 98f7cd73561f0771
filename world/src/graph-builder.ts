/**
 * A small ONNX graph builder over onnx-proto (opset 13, IR 7): named inputs/outputs, float/int
 * constants stored as initializers, one method per node. The world's networks are a few dozen
 * standard operators each, so a builder this thin keeps each graph readable next to its
 * TypeScript reference (docs/notes/training-in-typescript.md: onnx-proto covers opset <= 15).
 * Encoding is deterministic: the same calls give the same bytes.
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
type DataType = "float32" | "int32" | "int64" | "int16";
const DT: Record<DataType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  int16: onnx.TensorProto.DataType.INT16,
};
export const OPSET = 13;

export type Attr = number | number[] | string;

export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly inits: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly ins: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private counter = 0;

  constructor(private readonly name: string) {}

  private fresh(prefix: string): string {
    this.counter += 1;
    return `${prefix}_${this.counter}`;
  }

  private valueInfo(name: string, type: DataType, dims: (number | string)[]) {
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

  input(name: string, type: DataType, dims: (number | string)[]): string {
    this.ins.push(this.valueInfo(name, type, dims));
    return name;
  }

  /** Marks `value` as a graph output called `name` (through an Identity when they differ). */
  output(value: string, name: string, type: DataType, dims: (number | string)[]): void {
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

  /** A constant tensor (initializer). Scalars: dims []. */
  const(data: ArrayLike<number>, dims: number[], type: DataType = "float32", hint = "c"): string {
    const name = this.fresh(hint);
    const n = data.length;
    let raw: Uint8Array;
    if (type === "float32") raw = new Uint8Array(Float32Array.from(data).buffer);
    else if (type === "int32") raw = new Uint8Array(Int32Array.from(data).buffer);
    else if (type === "int16") raw = new Uint8Array(Int16Array.from(data).buffer);
    else
      raw = new Uint8Array(
        BigInt64Array.from(Array.from({ length: n }, (_, i) => BigInt(data[i]))).buffer,
      );
    this.inits.push(onnx.TensorProto.create({ name, dims, dataType: DT[type], rawData: raw }));
    return name;
  }

  scalar(v: number): string {
    return this.const([v], [], "float32", "s");
  }

  ints(v: number[]): string {
    return this.const(v, [v.length], "int64", "i");
  }

  /** Adds one node; returns its output names. */
  opN(opType: string, inputs: string[], nOut: number, attrs: Record<string, Attr> = {}): string[] {
    const outputs = Array.from({ length: nOut }, () => this.fresh(opType));
    const attribute = Object.entries(attrs).map(([name, v]) => {
      if (typeof v === "string")
        return onnx.AttributeProto.create({
          name,
          type: onnx.AttributeProto.AttributeType.STRING,
          s: new TextEncoder().encode(v),
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
        input: inputs,
        output: outputs,
        name: outputs[0],
        attribute,
      }),
    );
    return outputs;
  }

  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    return this.opN(opType, inputs, 1, attrs)[0];
  }

  // Shorthands for the elementwise ops the graphs use most.
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

  toBytes(producer = "budgetfusion-mini-world"): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 7,
      producerName: producer,
      producerVersion: "1",
      opsetImport: [{ domain: "", version: OPSET }],
      graph: onnx.GraphProto.create({
        name: this.name,
        node: this.nodes,
        initializer: this.inits,
        input: this.ins,
        output: this.outs,
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
