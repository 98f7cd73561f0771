/**
 * Makes a bundle's edge form (bundle-manifest.ts `edge_form`) from a trained teacher and
 * measures it the way the edge will run it: the exported ONNX file on an OrtPort, against the
 * teacher's own curves on validation prompts (shared/src/predictor/edge-form-agreement.ts).
 *
 * - "exact": export-edge-form.ts's rearranged BiLSTM(s);
 * - "distilled": student-mlp.ts trained on the teacher's curves for the training prompts.
 *
 * The teacher runs through an injected function so any runtime (onnxruntime-node over the
 * bundle's predictor files, or the TypeScript forward) can produce its curves.
 */
import type { PlateauParams } from "@budgetfusion/shared/plateau/step-budget";
import type {
  EdgeFormAgreement,
  StepEncoding,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import {
  agreementShortfall,
  type EdgeFormKind,
  measureAgreement,
} from "@budgetfusion/shared/predictor/edge-form-agreement";
import { predictorFeatures } from "@budgetfusion/shared/predictor/step-encoding";
import type { OrtPort } from "@budgetfusion/shared/runtime/ort-port";
import {
  EDGE_FORM_INPUT,
  exportExactEdgeForm,
  exportStudentOnnx,
  type TeacherModel,
} from "../export/edge-form-export";
import { ONNX_INPUT, ONNX_OUTPUT } from "../export/onnx-export";
import { createStudent, type StudentTraining, trainStudent } from "./student-mlp";

/** Teacher curves [n, dense, 3] (METRIC_NAMES order) for embeddings [n, width]. */
export type TeacherCurves = (embeddings: Float32Array, n: number) => Promise<Float32Array>;

export interface PromptSet {
  embeddings: Float32Array;
  n: number;
}

export interface BuiltEdgeForm {
  kind: EdgeFormKind;
  method: string;
  onnx: Uint8Array;
  agreement: EdgeFormAgreement;
  /** Rows p̄ [width] + teacher curves [dense, 3], for the edge's upload check. */
  probe: Float32Array;
  probePrompts: number;
  /** Why the form misses its bar (it must not be shipped), undefined when it passes. */
  shortfall?: string;
}

export interface EdgeFormContext {
  ort: OrtPort;
  width: number;
  dense: number;
  plateau: PlateauParams;
  /** How many validation prompts ship as the probe (default 32). */
  probePrompts?: number;
}

/**
 * The teacher as its bundle ships it: per-metric ONNX files (METRIC_NAMES order; one multi-head
 * file gives all three) fed x_i = p̄ + t̄_i in batches of `batch`. `onBatch` sees the running
 * prompt count (progress).
 */
export async function onnxTeacher(
  ort: OrtPort,
  files: readonly Uint8Array[],
  enc: StepEncoding,
  dense: number,
  onBatch?: (done: number) => void,
  batch = 16,
): Promise<{ curves: TeacherCurves; release: () => Promise<void> }> {
  const sessions = await Promise.all(files.map((f) => ort.createSession(f)));
  let done = 0;
  const curves: TeacherCurves = async (embeddings, n) => {
    const out = new Float32Array(n * dense * 3);
    for (let s = 0; s < n; s += batch) {
      const b = Math.min(batch, n - s);
      const x = predictorFeatures(
        embeddings.subarray(s * enc.width, (s + b) * enc.width),
        b,
        dense,
        enc,
      );
      for (const [k, session] of sessions.entries()) {
        const res = await session.run({
          [ONNX_INPUT]: { type: "float32", data: x, dims: [b, dense, enc.width] },
        });
        const scores = res[ONNX_OUTPUT].data as Float32Array;
        if (sessions.length === 1) out.set(scores, s * dense * 3);
        else for (let i = 0; i < b * dense; i++) out[(s * dense + i) * 3 + k] = scores[i];
      }
      done += b;
      onBatch?.(done);
    }
    return out;
  };
  return {
    curves,
    release: async () => void (await Promise.all(sessions.map((s) => s.release()))),
  };
}

/** Runs an edge-form ONNX file on every prompt (batch 1, as the edge does). */
async function runEdgeForm(
  ort: OrtPort,
  onnx: Uint8Array,
  set: PromptSet,
  width: number,
  dense: number,
): Promise<Float32Array> {
  const session = await ort.createSession(onnx);
  const out = new Float32Array(set.n * dense * 3);
  try {
    for (let i = 0; i < set.n; i++) {
      const res = await session.run({
        [EDGE_FORM_INPUT]: {
          type: "float32",
          data: set.embeddings.slice(i * width, (i + 1) * width),
          dims: [1, width],
        },
      });
      out.set(res[ONNX_OUTPUT].data as Float32Array, i * dense * 3);
    }
  } finally {
    await session.release();
  }
  return out;
}

async function finish(
  ctx: EdgeFormContext,
  kind: EdgeFormKind,
  method: string,
  onnx: Uint8Array,
  val: PromptSet,
  teacherVal: Float32Array,
): Promise<BuiltEdgeForm> {
  const served = await runEdgeForm(ctx.ort, onnx, val, ctx.width, ctx.dense);
  const agreement = measureAgreement(teacherVal, served, val.n, ctx.dense, ctx.plateau);
  const probePrompts = Math.min(ctx.probePrompts ?? 32, val.n);
  const row = ctx.width + ctx.dense * 3;
  const probe = new Float32Array(probePrompts * row);
  for (let i = 0; i < probePrompts; i++) {
    probe.set(val.embeddings.subarray(i * ctx.width, (i + 1) * ctx.width), i * row);
    probe.set(teacherVal.subarray(i * ctx.dense * 3, (i + 1) * ctx.dense * 3), i * row + ctx.width);
  }
  return {
    kind,
    method,
    onnx,
    agreement,
    probe,
    probePrompts,
    shortfall: agreementShortfall(kind, agreement),
  };
}

/** The exact form of `teachers`, checked against `teacher` on the validation prompts. */
export async function buildExactEdgeForm(
  ctx: EdgeFormContext,
  teachers: readonly TeacherModel[],
  enc: StepEncoding,
  teacher: TeacherCurves,
  val: PromptSet,
): Promise<BuiltEdgeForm> {
  const onnx = exportExactEdgeForm(teachers, enc, ctx.dense);
  const method =
    teachers.length === 1
      ? "bilstm-3head+layer1-step-projection"
      : "bilstm+layer1-step-projection+one-session";
  return finish(ctx, "exact", method, onnx, val, await teacher(val.embeddings, val.n));
}

/** A student distilled from `teacher` on `train`, measured on `val`. */
export async function buildDistilledEdgeForm(
  ctx: EdgeFormContext,
  teacher: TeacherCurves,
  train: PromptSet,
  val: PromptSet,
  student: { hidden: number } & StudentTraining,
): Promise<BuiltEdgeForm> {
  const outputs = ctx.dense * 3;
  const targets = await teacher(train.embeddings, train.n);
  const mean = new Float32Array(outputs);
  for (let i = 0; i < targets.length; i++) mean[i % outputs] += targets[i] / train.n;
  const s = createStudent(ctx.width, student.hidden, outputs, mean, student.seed);
  trainStudent(s, train.embeddings, targets, train.n, student);
  const onnx = exportStudentOnnx(s, ctx.dense);
  const method = `mlp-student(${ctx.width}-${student.hidden}-${outputs}, ${train.n} prompts)`;
  return finish(ctx, "distilled", method, onnx, val, await teacher(val.embeddings, val.n));
}
