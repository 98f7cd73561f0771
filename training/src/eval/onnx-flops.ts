/**
 * FLOP counting from ONNX graphs for Table 2's compute eta (SPEC §6, paper Eq. 8).
 *
 * Shapes come from running the model once: every intermediate value is added as a graph output
 * (onnx-proto), so onnxruntime reports its dims for the real input shapes; no shape inference
 * of our own. Counting rules (per node, from those shapes):
 * - MatMul: 2 * prod(out) * K (K = inner dim of A); Gemm: 2 * M * N * K (+ M * N with C);
 * - Conv: 2 * prod(out) * prod(W.shape[1:]) (= 2 MACs per output: C_in/group * kernel);
 *   ConvTranspose: 2 * prod(X) * prod(W.shape[1:]);
 * - elementwise arithmetic, activations, normalisation and softmax: 1 FLOP per output element;
 * - shape, indexing, casts and copies: 0.
 * Running every intermediate as an output keeps them all in memory, fine for the models this
 * project evaluates on CPU (tiny / mini-world); for a full SD2 pass `--flops FILE` takes
 * precomputed numbers (docs/training.md).
 */
import type { OrtPort, PortTensor } from "@budgetfusion/shared/runtime/ort-port";
import onnxProto from "onnx-proto";

// onnx-proto is CommonJS: its default export is the module object.
const { onnx } = onnxProto;

const ELEMENTWISE = new Set([
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Pow",
  "Sqrt",
  "Exp",
  "Log",
  "Erf",
  "Tanh",
  "Sigmoid",
  "Relu",
  "LeakyRelu",
  "Gelu",
  "FastGelu",
  "Softmax",
  "LogSoftmax",
  "LayerNormalization",
  "InstanceNormalization",
  "GroupNormalization",
  "BatchNormalization",
  "ReduceMean",
  "ReduceSum",
  "Neg",
  "Abs",
  "Min",
  "Max",
  "Clip",
  "Sin",
  "Cos",
  "Reciprocal",
  "HardSigmoid",
  "Mish",
  "Where",
  "Resize",
  "SkipLayerNormalization",
  "BiasGelu",
  "QuickGelu",
]);

const prod = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

export interface FlopCount {
  total: number;
  /** FLOPs by operator type. */
  byOp: Record<string, number>;
}

/** FLOPs of one forward pass of `modelBytes` on `feeds` (see module header for the rules). */
export async function countOnnxFlops(
  ort: OrtPort,
  modelBytes: Uint8Array,
  feeds: Record<string, PortTensor>,
): Promise<FlopCount> {
  const model = onnx.ModelProto.decode(modelBytes);
  const graph = model.graph;
  if (!graph) return { total: 0, byOp: {} };
  const shapes = new Map<string, number[]>();
  for (const init of graph.initializer ?? []) {
    shapes.set(
      init.name ?? "",
      (init.dims ?? []).map((d) => Number(d)),
    );
  }
  for (const [name, t] of Object.entries(feeds)) shapes.set(name, [...t.dims]);
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ""));
  for (const node of graph.node ?? []) {
    for (const o of node.output ?? []) {
      if (o && !outputs.has(o)) {
        graph.output?.push(onnx.ValueInfoProto.create({ name: o }));
        outputs.add(o);
      }
    }
  }
  const session = await ort.createSession(onnx.ModelProto.encode(model).finish());
  const result = await session.run(feeds);
  for (const [name, t] of Object.entries(result)) shapes.set(name, [...t.dims]);
  await session.release();

  const byOp: Record<string, number> = {};
  const shapeOf = (name: string | undefined | null) => shapes.get(name ?? "") ?? [];
  for (const node of graph.node ?? []) {
    const op = node.opType ?? "";
    const ins = node.input ?? [];
    const out = shapeOf(node.output?.[0]);
    let flops = 0;
    if (op === "MatMul") {
      const a = shapeOf(ins[0]);
      flops = 2 * prod(out) * (a[a.length - 1] ?? 1);
    } else if (op === "Gemm") {
      const a = shapeOf(ins[0]);
      const transA = node.attribute?.find((x) => x.name === "transA")?.i;
      const k = Number(transA ?? 0) ? a[0] : a[1];
      flops = 2 * prod(out) * (k ?? 1) + (ins[2] ? prod(out) : 0);
    } else if (op === "Conv") {
      flops = 2 * prod(out) * prod(shapeOf(ins[1]).slice(1));
    } else if (op === "ConvTranspose") {
      flops = 2 * prod(shapeOf(ins[0])) * prod(shapeOf(ins[1]).slice(1));
    } else if (ELEMENTWISE.has(op)) {
      flops = prod(out);
    }
    if (flops > 0) byOp[op] = (byOp[op] ?? 0) + flops;
  }
  const total = Object.values(byOp).reduce((a, b) => a + b, 0);
  return { total, byOp };
}
