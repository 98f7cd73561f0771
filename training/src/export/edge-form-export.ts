/**
 * The exact edge form of a trained predictor (bundle-manifest.ts `edge_form`, kind "exact"): the
 * same BiLSTM(s), rearranged so the edge does less work per prompt, in ONE ONNX file.
 *
 *   embedding [1, D] (p̄) -> per stack: layer 1 with its step projection precomputed, layers
 *   2.. and the head(s) as onnx-export.ts -> Concat [1, dense, 3] "scores" (METRIC_NAMES order)
 *
 * Layer 1 sees x_i = p̄ + t̄_i, so W_ih x_i = W_ih p̄ + W_ih t̄_i. The second term is the same for
 * every prompt: it is computed here once, P = W_ih [t̄_1 .. t̄_dense] [4H, dense], and the LSTM
 * is fed one-hot step indicators e_i with W = P, so W e_i = W_ih t̄_i; the first term is one
 * [1,D]x[D,8H] MatMul per prompt added to the LSTM's input bias. Layer 1's input GEMM shrinks
 * from dense x D x 8H to dense x dense x 8H (8x at D = 1024) and the edge no longer builds the
 * [dense, D] feature matrix. The result equals the teacher up to float rounding (the sum is
 * taken in another order); the bias trick needs batch 1, which is what the edge runs.
 * Three per-metric teachers become three stacks in one session (one run instead of three).
 */
import { ValidationError } from "@budgetfusion/shared/errors";
import type { StepEncoding } from "@budgetfusion/shared/predictor/bundle-manifest";
import { predictorFeatures } from "@budgetfusion/shared/predictor/step-encoding";
import type { StudentMlp } from "../distill/student-mlp";
import { type Architecture, effectiveTailPad, headCount } from "../model/config";
import { matmulNN } from "../model/matmul";
import type { ParamMap } from "../model/params";
import { modelConfigFromParams } from "../train/predict";
import {
  checkOutputAffine,
  clipUnit,
  concat,
  ExportGraph,
  flattenShape,
  get,
  head,
  lstmLayersFrom,
  lstmNode,
  ONNX_OPSET,
  ONNX_OUTPUT,
  type OutputAffine,
  outputAffineNode,
  reorderGates,
  transposed,
} from "./onnx-export";

export const EDGE_FORM_INPUT = "embedding";

/** A trained predictor as the exporter takes it (onnx-export.ts). */
export interface TeacherModel {
  params: ParamMap;
  architecture?: Architecture;
  tailPad?: number;
  outputAffine?: OutputAffine;
}

/** [dense + k, 1, dense]: step i's indicator, the last step's repeated for the k padded steps. */
function stepIndicators(dense: number, tailPad: number): Float32Array {
  const x = new Float32Array((dense + tailPad) * dense);
  for (let t = 0; t < dense + tailPad; t++) x[t * dense + Math.min(t, dense - 1)] = 1;
  return x;
}

/** Layer 1 of one stack with its step projection precomputed: [dense + k, 1, 2H]. */
function firstLayer(
  g: ExportGraph,
  params: ParamMap,
  H: number,
  stepTableT: Float32Array,
  dense: number,
  tailPad: number,
  prefix: string,
  flatten: string,
): string {
  const D = stepTableT.length / dense;
  const dirs = ["l0", "l0_reverse"];
  const wih = dirs.map((d) => reorderGates(get(params, `lstm.weight_ih_${d}`), H));
  const projections = wih.map((w) => {
    const p = new Float32Array(4 * H * dense);
    matmulNN(w, stepTableT, p, 4 * H, dense, D, false);
    return p;
  });
  const w = g.floatInit(`${prefix}lstm_l0_W_steps`, [2, 4 * H, dense], concat(projections));
  const r = g.floatInit(
    `${prefix}lstm_l0_R`,
    [2, 4 * H, H],
    concat(dirs.map((d) => reorderGates(get(params, `lstm.weight_hh_${d}`), H))),
  );
  const bias = concat(
    dirs.flatMap((d) => [
      reorderGates(get(params, `lstm.bias_ih_${d}`), H),
      reorderGates(get(params, `lstm.bias_hh_${d}`), H),
    ]),
  );
  // W_ih p̄ for both directions [1, 8H] -> [2, 4H] -> next to zeros for the R bias -> + B.
  const wp = g.floatInit(
    `${prefix}lstm_l0_W_prompt_T`,
    [D, 8 * H],
    transposed(concat(wih), 8 * H, D),
  );
  const promptTerm = g.node("MatMul", [EDGE_FORM_INPUT, wp])[0];
  const perDir = g.node("Reshape", [promptTerm, g.int64Init("shape_2_4h", [2, 4 * H])])[0];
  const zeros = g.floatInit(`${prefix}lstm_l0_zero_bias`, [2, 4 * H], new Float32Array(8 * H));
  const extra = g.node("Concat", [perDir, zeros], { axis: 1 })[0];
  const b = g.node("Add", [extra, g.floatInit(`${prefix}lstm_l0_B`, [2, 8 * H], bias)])[0];
  const x = g.floatInit(
    `${prefix}steps_onehot`,
    [dense + tailPad, 1, dense],
    stepIndicators(dense, tailPad),
  );
  return lstmNode(g, [x, w, r, b], H, flatten);
}

/**
 * One ONNX file: input "embedding" [1, D], output "scores" [1, dense, 3].
 * @param teachers three single-head BiLSTMs (lsnr, dsim, iclip) or one bilstm-3head
 */
export function exportExactEdgeForm(
  teachers: readonly TeacherModel[],
  enc: StepEncoding,
  dense: number,
): Uint8Array {
  const heads = teachers.reduce((n, t) => n + headCount(t.architecture ?? "bilstm"), 0);
  if (heads !== 3 || teachers.some((t) => (t.architecture ?? "bilstm") === "mlp-tanh")) {
    throw new ValidationError(
      "teachers: three single-head BiLSTMs or one bilstm-3head (3 heads in all)",
      { field: "teachers" },
    );
  }
  const g = new ExportGraph("budgetfusion_edge_exact");
  const stepTableT = transposed(
    predictorFeatures(new Float32Array(enc.width), 1, dense, enc),
    dense,
    enc.width,
  );
  const flatten = flattenShape(g);
  const outs: string[] = [];
  teachers.forEach((t, s) => {
    const arch = t.architecture ?? "bilstm";
    const cfg = modelConfigFromParams(t.params, { architecture: arch, tailPad: t.tailPad });
    if (cfg.width !== enc.width) {
      throw new ValidationError(`teachers[${s}]: width ${cfg.width}, step encoding ${enc.width}`, {
        field: `teachers.${s}`,
      });
    }
    checkOutputAffine(t.outputAffine);
    const prefix = `s${s}_`;
    const k = effectiveTailPad(cfg);
    const x1 = firstLayer(g, t.params, cfg.hidden, stepTableT, dense, k, prefix, flatten);
    const z = lstmLayersFrom(g, t.params, cfg.hidden, cfg.layers, 1, x1, k, prefix, flatten);
    for (let h = 0; h < headCount(arch); h++) {
      const y = head(g, t.params, arch, h, z, 2 * cfg.hidden, cfg.mlp, prefix);
      outs.push(t.outputAffine ? outputAffineNode(g, y, t.outputAffine, prefix) : y);
    }
  });
  const scores = g.node("Concat", outs, { axis: 2 })[0];
  g.g.renameOutput(scores, ONNX_OUTPUT);
  g.g.input(EDGE_FORM_INPUT, "float32", [1, enc.width]);
  g.g.output(ONNX_OUTPUT, ONNX_OUTPUT, "float32", [1, dense, 3]);
  return g.g.toBytes({
    producer: "budgetfusion-training",
    opset: ONNX_OPSET,
    docString: `BudgetFusion exact edge form (${teachers.length} stack(s), layer-1 step projection precomputed)`,
  });
}

/** The distilled student (distill/student-mlp.ts) as the edge form's ONNX contract. */
export function exportStudentOnnx(s: StudentMlp, dense: number): Uint8Array {
  if (s.outputs !== dense * 3) {
    throw new ValidationError(`student has ${s.outputs} outputs, dense ${dense} x 3 expected`, {
      field: "student.outputs",
    });
  }
  const g = new ExportGraph("budgetfusion_edge_student");
  const w1 = g.floatInit("student.w1", [s.width, s.hidden], s.w1);
  const b1 = g.floatInit("student.b1", [s.hidden], s.b1);
  const w2 = g.floatInit("student.w2", [s.hidden, s.outputs], s.w2);
  const b2 = g.floatInit("student.b2", [s.outputs], s.b2);
  const hid = g.node("Tanh", [
    g.node("Add", [g.node("MatMul", [EDGE_FORM_INPUT, w1])[0], b1])[0],
  ])[0];
  const out = g.node("Add", [g.node("MatMul", [hid, w2])[0], b2])[0];
  const curves = g.node("Reshape", [out, g.int64Init("shape_1_dense_3", [1, dense, 3])])[0];
  const scores = clipUnit(g, curves);
  g.g.renameOutput(scores, ONNX_OUTPUT);
  g.g.input(EDGE_FORM_INPUT, "float32", [1, s.width]);
  g.g.output(ONNX_OUTPUT, ONNX_OUTPUT, "float32", [1, dense, 3]);
  return g.g.toBytes({
    producer: "budgetfusion-training",
    opset: ONNX_OPSET,
    docString: `BudgetFusion distilled edge form (MLP ${s.width}-${s.hidden}-${s.outputs})`,
  });
}
