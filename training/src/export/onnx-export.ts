/**
 * ONNX export of a trained predictor (SPEC §4 "Export"): the standard bidirectional `LSTM`
 * operator (one node per layer, opset 14, IR 7), so onnxruntime-web and -node run it.
 *
 *   features [batch, steps, D] float32
 *   -> Transpose(1,0,2) [-> Concat with Tile(last step, k) when tailPad = k > 0]
 *   -> per layer: LSTM(bidirectional) Y [T,2,B,H] -> Transpose(0,2,1,3)
 *      -> Reshape(0,0,-1) [T,B,2H] [-> Slice(0, -k)] -> Transpose(1,0,2) [B,T,2H]
 *   -> MatMul(fc1ᵀ) + fc1.bias -> Relu -> MatMul(fc2ᵀ) + fc2.bias -> Sigmoid [B,T,1]
 *   -> Squeeze(2) [-> Mul(scale) -> Add(offset) with outputAffine]
 *   [-> Gather(grid steps, axis 1)] [-> envelope with monotone] [-> MatMul(interpolation) with
 *   outputGrid] -> scores [batch, steps]
 *
 * PyTorch -> ONNX LSTM mapping: gate blocks reordered from i,f,g,o to ONNX's i,o,f,c;
 * W = [W_ih fwd; W_ih rev] [2,4H,Din], R likewise from W_hh, B = [b_ih ; b_hh] per direction
 * [2,8H]. mlp-tanh: features -> MatMul(mlp.weightᵀ) + mlp.bias -> Tanh -> the same head.
 * bilstm-3head: by default ONE file whose "scores" is [batch, steps, 3] (heads concatenated in
 * METRIC_NAMES order lsnr, dsim, iclip); with `{ head: h }` a file with head h only and the
 * single-metric contract "scores" [batch, steps] (what a bundle's per-metric files need).
 * Written with the shared ONNX graph builder (shared/src/onnx/onnx-graph.ts).
 */
import { ValidationError } from "@budgetfusion/shared/errors";
import { type OnnxAttr, OnnxGraph } from "@budgetfusion/shared/onnx/onnx-graph";
import type { MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";
import { type Architecture, effectiveTailPad, headCount, headPrefix } from "../model/config";
import type { CurveDirection } from "../model/curve-envelope";
import { gridInterpolation } from "../model/grid-output";
import type { ParamMap } from "../model/params";
import { type ModelShape, modelConfigFromParams } from "../train/predict";
import { type QualityInverse, qualityInverse, type TargetNorm } from "../train/target-norm";

export const ONNX_OPSET = 14;
export const ONNX_INPUT = "features";
export const ONNX_OUTPUT = "scores";

export interface ExportOptions {
  /** bilstm-3head only: export this head alone with output [batch, steps]. */
  head?: number;
  /** Written into the model's doc string (e.g. training data hash). */
  docString?: string;
  /**
   * Inverse of the training target normalisation (train/target-norm.ts): scores = scale *
   * sigmoid + offset, as Mul + Add nodes after the Sigmoid, so `scores` are in metric units,
   * then Clip to [0, 1], the range of every metric. A log-quality norm adds the inverse of its
   * space (Exp, and 1 - q for L-SNR / D-SIM) before the Clip.
   */
  outputAffine?: OutputAffine;
  /** Single-head grid-output files: the monotone envelope of the grid outputs (model/curve-envelope.ts). */
  monotone?: CurveDirection;
}

/** Large enough that a masked entry never wins against a score in [0, 1]. */
const ENVELOPE_MASK = 1e4;

/**
 * y'[b, k] = max (falling) or min (rising) over j >= k of y[b, j], as
 * Reduce{Max,Min}(Unsqueeze(y, 1) + M, axis 2) with M[k, j] = 0 for j >= k and ∓1e4 before k.
 */
function envelopeNode(g: ExportGraph, y: string, length: number, direction: CurveDirection) {
  const sign = direction === "falling" ? -1 : 1;
  const mask = new Float32Array(length * length);
  for (let k = 0; k < length; k++)
    for (let j = 0; j < k; j++) mask[k * length + j] = sign * ENVELOPE_MASK;
  const rows = g.node("Unsqueeze", [y, g.int64Init("axis1", [1])])[0];
  const masked = g.node("Add", [rows, g.floatInit("envelope_mask", [length, length], mask)])[0];
  return g.node(direction === "falling" ? "ReduceMax" : "ReduceMin", [masked], {
    axes: [2],
    keepdims: 0,
  })[0];
}

/**
 * The export's naming on the shared builder: outputs `<op>_<n>`, nodes `<Op>_<n>`, int64
 * initializers in int64_data, so exported files keep their bytes (a rerun reproduces a bundle).
 */
export class ExportGraph {
  readonly g: OnnxGraph;

  constructor(name: string) {
    this.g = new OnnxGraph(name);
  }

  floatInit(name: string, dims: number[], data: Float32Array): string {
    return this.g.initializer(name, data, dims, "float32");
  }

  int64Init(base: string, values: number[]): string {
    return this.g.initializer(this.g.fresh(base), values, [values.length], "int64", {
      int64Data: true,
    });
  }

  node(op: string, inputs: string[], attrs: Record<string, OnnxAttr> = {}, nOut = 1): string[] {
    const outputs = Array.from({ length: nOut }, () => this.g.fresh(op.toLowerCase()));
    return this.g.node(op, inputs, { attrs, outputs, name: this.g.fresh(op) });
  }
}

export function get(params: ParamMap, name: string): Float32Array {
  const t = params.get(name);
  if (!t) throw new ValidationError(`params: missing tensor ${name}`, { field: `params.${name}` });
  return t.data;
}

/** [rows, cols] -> [cols, rows]. */
export function transposed(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/** PyTorch gate blocks i,f,g,o -> ONNX i,o,f,c, for a [4H, k] tensor (k = 1 for biases). */
export function reorderGates(a: Float32Array, H: number): Float32Array {
  const k = a.length / (4 * H);
  const out = new Float32Array(a.length);
  for (const [dst, src] of [0, 3, 1, 2].entries())
    out.set(a.subarray(src * H * k, (src + 1) * H * k), dst * H * k);
  return out;
}

export function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** One layer's ONNX LSTM tensors W [2,4H,Din], R [2,4H,H], B [2,8H] (both directions). */
function lstmLayerTensors(params: ParamMap, l: number, H: number) {
  const dirs = ["", "_reverse"].map((s) => `l${l}${s}`);
  return {
    W: concat(dirs.map((d) => reorderGates(get(params, `lstm.weight_ih_${d}`), H))),
    R: concat(dirs.map((d) => reorderGates(get(params, `lstm.weight_hh_${d}`), H))),
    B: concat(
      dirs.flatMap((d) => [
        reorderGates(get(params, `lstm.bias_ih_${d}`), H),
        reorderGates(get(params, `lstm.bias_hh_${d}`), H),
      ]),
    ),
  };
}

/** LSTM(bidirectional) on x [T,B,Din] -> Y [T,2,B,H] -> Reshape(`flatten`) [T,B,2H]. */
export function lstmNode(
  g: ExportGraph,
  [x, w, r, b]: [string, string, string, string],
  H: number,
  flatten: string,
) {
  const [y] = g.node("LSTM", [x, w, r, b], { direction: "bidirectional", hidden_size: H }, 3);
  const tb2h = g.node("Transpose", [y], { perm: [0, 2, 1, 3] })[0];
  return g.node("Reshape", [tb2h, flatten])[0];
}

export const flattenShape = (g: ExportGraph) => g.int64Init("shape_t_b_2h", [0, 0, -1]);

/**
 * Layers `from`.. of the stack on x [T(+k),B,Din], then the tail padding's k steps dropped and
 * back to batch-first [B,T,2H]. `prefix` keeps initializer names apart when one graph holds
 * several stacks.
 */
export function lstmLayersFrom(
  g: ExportGraph,
  params: ParamMap,
  H: number,
  layers: number,
  from: number,
  x0: string,
  tailPad: number,
  prefix = "",
  flatten = flattenShape(g),
): string {
  let x = x0;
  for (let l = from; l < layers; l++) {
    const din = l === 0 ? get(params, "lstm.weight_ih_l0").length / (4 * H) : 2 * H;
    const t = lstmLayerTensors(params, l, H);
    const w = g.floatInit(`${prefix}lstm_l${l}_W`, [2, 4 * H, din], t.W);
    const r = g.floatInit(`${prefix}lstm_l${l}_R`, [2, 4 * H, H], t.R);
    const b = g.floatInit(`${prefix}lstm_l${l}_B`, [2, 8 * H], t.B);
    x = lstmNode(g, [x, w, r, b], H, flatten);
  }
  if (tailPad > 0) {
    const axis0 = g.int64Init("axis0", [0]);
    x = g.node("Slice", [x, g.int64Init("start", [0]), g.int64Init("end", [-tailPad]), axis0])[0];
  }
  return g.node("Transpose", [x], { perm: [1, 0, 2] })[0];
}

function lstmLayers(
  g: ExportGraph,
  params: ParamMap,
  H: number,
  layers: number,
  input: string,
  tailPad: number,
): string {
  let x = g.node("Transpose", [input], { perm: [1, 0, 2] })[0];
  if (tailPad > 0) {
    // [T,B,D] -> [T+k,B,D] with k copies of the last step (model/config.ts tailPad).
    const last = g.node("Gather", [x, g.int64Init("last_step", [-1])], { axis: 0 })[0];
    const pad = g.node("Tile", [last, g.int64Init("tail_pad", [tailPad, 1, 1])])[0];
    x = g.node("Concat", [x, pad], { axis: 0 })[0];
  }
  return lstmLayersFrom(g, params, H, layers, 0, x, tailPad);
}

/** The head Linear(F,M) -> ReLU -> Linear(M,1) -> Sigmoid on z [B,T,F]: [B,T,1]. */
export function head(
  g: ExportGraph,
  params: ParamMap,
  arch: Architecture,
  h: number,
  z: string,
  F: number,
  M: number,
  prefix = "",
): string {
  const p = headPrefix(arch, h);
  const w1 = g.floatInit(
    `${prefix}${p}fc1.weight_T`,
    [F, M],
    transposed(get(params, `${p}fc1.weight`), M, F),
  );
  const b1 = g.floatInit(`${prefix}${p}fc1.bias`, [M], get(params, `${p}fc1.bias`));
  const w2 = g.floatInit(`${prefix}${p}fc2.weight_T`, [M, 1], get(params, `${p}fc2.weight`));
  const b2 = g.floatInit(`${prefix}${p}fc2.bias`, [1], get(params, `${p}fc2.bias`));
  const a1 = g.node("Add", [g.node("MatMul", [z, w1])[0], b1])[0];
  const a2 = g.node("Add", [g.node("MatMul", [g.node("Relu", [a1])[0], w2])[0], b2])[0];
  return g.node("Sigmoid", [a2])[0];
}

export function checkOutputAffine(a: ExportOptions["outputAffine"]): void {
  if (a && !(Number.isFinite(a.scale) && Number.isFinite(a.offset) && a.scale !== 0))
    throw new ValidationError("outputAffine: scale and offset must be finite, scale non-zero", {
      field: "outputAffine",
    });
  if (a?.space === "log-quality" && a.metric === undefined)
    throw new ValidationError("outputAffine.metric: the log-quality space needs the metric", {
      field: "outputAffine.metric",
    });
}

/** The target normalisation an export undoes (train/target-norm.ts TargetNorm). */
export type OutputAffine = Pick<TargetNorm, "scale" | "offset" | "space" | "metric">;

/** scale * scores + offset: the affine part of the target normalisation undone. */
function affineNode(g: ExportGraph, scores: string, a: OutputAffine, prefix: string): string {
  const sc = g.floatInit(`${prefix}target_norm_scale`, [1], Float32Array.of(a.scale));
  const of = g.floatInit(`${prefix}target_norm_offset`, [1], Float32Array.of(a.offset));
  return g.node("Add", [g.node("Mul", [scores, sc])[0], of])[0];
}

/** How a log-quality head's q maps back to its metric (checkOutputAffine ensured the metric). */
function inverseOf(a: OutputAffine): QualityInverse {
  return qualityInverse(a.metric as MetricName);
}

/** Target-space values -> metric values in [0, 1]: Exp (and 1 - q) for log-quality, then Clip. */
function metricValueNode(g: ExportGraph, y: string, a: OutputAffine, prefix: string): string {
  if (a.space === "log-quality") {
    y = g.node("Exp", [y])[0];
    if (inverseOf(a) === "complement") {
      const one = g.floatInit(`${prefix}quality_one`, [1], Float32Array.of(1));
      y = g.node("Sub", [one, y])[0];
    }
  }
  // Every metric lives in [0, 1] (SPEC §3); the sigmoid bounded the normalised score, the
  // clip keeps the de-normalised one there too (the affine map overshoots [lo, hi] by 5.6%).
  return clipUnit(g, y, prefix);
}

/**
 * scores -> Clip(scale * scores + offset, 0, 1): the target normalisation undone; in the
 * log-quality space Clip(1 - Exp(..)) (L-SNR, D-SIM) or Clip(Exp(..)) (I-CLIP).
 */
export function outputAffineNode(
  g: ExportGraph,
  scores: string,
  a: OutputAffine,
  prefix = "",
): string {
  return metricValueNode(g, affineNode(g, scores, a, prefix), a, prefix);
}

/**
 * A metric's monotone direction read in its log-quality space: q = 1 - v turns a falling value
 * into a rising log q; q = v keeps it.
 */
function logQualityDirection(a: OutputAffine, direction: CurveDirection): CurveDirection {
  if (inverseOf(a) === "identity") return direction;
  return direction === "falling" ? "rising" : "falling";
}

/** Clip to [0, 1], the range of every metric. */
export function clipUnit(g: ExportGraph, x: string, prefix = ""): string {
  const zero = g.floatInit(`${prefix}metric_min`, [], Float32Array.of(0));
  const one = g.floatInit(`${prefix}metric_max`, [], Float32Array.of(1));
  return g.node("Clip", [x, zero, one])[0];
}

/**
 * Serialises the predictor as an ONNX model (bytes of a ModelProto).
 * @param params trained tensors under PyTorch names (ParamMap)
 * @param config the architecture; sizes are read from the tensors
 */
export function exportPredictorOnnx(
  params: ParamMap,
  config: ModelShape,
  opts: ExportOptions = {},
): Uint8Array {
  const arch = config.architecture ?? "bilstm";
  const cfg = modelConfigFromParams(params, config);
  const nh = headCount(arch);
  if (
    opts.head !== undefined &&
    (arch !== "bilstm-3head" || !Number.isInteger(opts.head) || opts.head < 0 || opts.head >= nh)
  )
    throw new ValidationError(`head: ${opts.head} is not a head of ${arch}`, { field: "head" });
  const F = 2 * cfg.hidden;
  const g = new ExportGraph(`budgetfusion_${arch.replace(/-/g, "_")}`);
  let z: string;
  if (arch === "mlp-tanh") {
    const w = g.floatInit(
      "mlp.weight_T",
      [cfg.width, F],
      transposed(get(params, "mlp.weight"), F, cfg.width),
    );
    const b = g.floatInit("mlp.bias", [F], get(params, "mlp.bias"));
    z = g.node("Tanh", [g.node("Add", [g.node("MatMul", [ONNX_INPUT, w])[0], b])[0]])[0];
  } else {
    z = lstmLayers(g, params, cfg.hidden, cfg.layers, ONNX_INPUT, effectiveTailPad(cfg));
  }
  const heads = opts.head !== undefined ? [opts.head] : Array.from({ length: nh }, (_, h) => h);
  const outs = heads.map((h) => head(g, params, arch, h, z, F, cfg.mlp));
  const a = opts.outputAffine;
  checkOutputAffine(a);
  // In the log-quality space the curve is interpolated (and enveloped) in log q, as the TS
  // forward and the training loss see it, and turned into metric values last.
  const logQuality = a?.space === "log-quality" ? a : undefined;
  let scores =
    outs.length === 1
      ? g.node("Squeeze", [outs[0], g.int64Init("axis2", [2])])[0]
      : g.node("Concat", outs, { axis: 2 })[0];
  if (a && !logQuality) scores = outputAffineNode(g, scores, a);
  if (opts.monotone && outs.length !== 1)
    throw new ValidationError("monotone: export one head at a time", { field: "monotone" });
  if (cfg.outputGrid) {
    if (outs.length !== 1)
      throw new ValidationError("outputGrid: export one head at a time", { field: "outputGrid" });
    // The model's dense length is fixed by the grid (its last step), as in training.
    const steps = cfg.outputGrid[cfg.outputGrid.length - 1];
    const p = gridInterpolation(cfg.outputGrid, steps);
    const K = cfg.outputGrid.length;
    const pT = new Float32Array(K * steps);
    for (let t = 0; t < steps; t++)
      for (let k = 0; k < K; k++) pT[k * steps + t] = p.matrix[t * K + k];
    const idx = g.int64Init(
      "grid_steps",
      cfg.outputGrid.map((t) => t - 1),
    );
    let atGrid = g.node("Gather", [scores, idx], { axis: 1 })[0];
    if (logQuality) atGrid = affineNode(g, atGrid, logQuality, "");
    if (opts.monotone)
      atGrid = envelopeNode(
        g,
        atGrid,
        K,
        logQuality ? logQualityDirection(logQuality, opts.monotone) : opts.monotone,
      );
    scores = g.node("MatMul", [atGrid, g.floatInit("grid_interpolation", [K, steps], pT)])[0];
    if (logQuality) scores = metricValueNode(g, scores, logQuality, "");
  } else if (opts.monotone) {
    // The dense length is the caller's (dynamic); the grid fixes it, so the envelope needs one.
    throw new ValidationError("monotone: needs a model with an output grid", { field: "monotone" });
  } else if (logQuality) {
    scores = outputAffineNode(g, scores, logQuality);
  }
  // The last node written produces the graph output.
  g.g.renameOutput(scores, ONNX_OUTPUT);
  g.g.input(ONNX_INPUT, "float32", ["batch", "steps", cfg.width]);
  const outDims = outs.length === 1 ? ["batch", "steps"] : ["batch", "steps", outs.length];
  g.g.output(ONNX_OUTPUT, ONNX_OUTPUT, "float32", outDims);
  return g.g.toBytes({
    producer: "budgetfusion-training",
    opset: ONNX_OPSET,
    docString:
      opts.docString ??
      `BudgetFusion predictor (${arch}, H=${cfg.hidden}, M=${cfg.mlp}, layers=${cfg.layers}, tailPad=${effectiveTailPad(cfg)})`,
  });
}
