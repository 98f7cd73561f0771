/**
 * The edge form a pipeline run's bundle ships (`--edge-form distilled`, bundle stage): a student
 * distilled from the run's full models (the ONNX files the bundle ships, so the student learns
 * exactly what the edge would otherwise serve) on the embeddings of the run's training prompts,
 * its agreement measured on the validation prompts (training-data.ts validationSplit: the 1 in
 * 10 the models were not fitted on). The held-out test split is never read.
 */
import { ValidationError } from "@budgetfusion/shared/errors";
import { DENSE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import type { PlateauParams } from "@budgetfusion/shared/plateau/step-budget";
import type { StepEncoding } from "@budgetfusion/shared/predictor/bundle-manifest";
import type { OrtPort } from "@budgetfusion/shared/runtime/ort-port";
import { type PromptRows, selectRows, validationSplit } from "../pipeline/training-data";
import { type BuiltEdgeForm, buildDistilledEdgeForm, onnxTeacher } from "./build-edge-form";
import type { StudentTraining } from "./student-mlp";

export const EDGE_FORM_CHOICES = ["none", "distilled"] as const;

/**
 * The student the bundle stage and the paper-size benchmark (test/bench/paper-size-bundle.ts)
 * distil. The cosine decay agrees better with the prompt-sensitive paper-size teacher at every
 * distillation size measured; a wider layer, a larger diffWeight or more seeds did not
 * (docs/notes/paper-size-edge.md, "Agreement").
 */
export const DEFAULT_STUDENT: { hidden: number } & Omit<StudentTraining, "onEpoch"> = {
  hidden: 256,
  epochs: 80,
  batch: 32,
  lr: 1e-3,
  diffWeight: 20,
  stepStride: 3,
  lrSchedule: "cosine",
  seed: 7,
};

export interface RunEdgeFormInput {
  ort: OrtPort;
  /** The full models' ONNX files, METRIC_NAMES order. */
  teacherFiles: readonly Uint8Array[];
  stepEncoding: StepEncoding;
  /** The run's training split (PipelineRun.promptRows("train")). */
  trainRows: PromptRows;
  width: number;
  plateau: PlateauParams;
  student?: { hidden: number } & StudentTraining;
}

export async function distilledEdgeFormOfRun(i: RunEdgeFormInput): Promise<BuiltEdgeForm> {
  const split = validationSplit(i.trainRows.ids.length);
  if (split.validation.length === 0) {
    throw new ValidationError(
      `--edge-form distilled: the run has ${i.trainRows.ids.length} training prompts; the agreement needs validation prompts (1 in 10, so at least 10)`,
      { field: "edge-form" },
    );
  }
  const set = (pick: number[]) => ({
    embeddings: selectRows(i.trainRows, pick, i.width).embeddings,
    n: pick.length,
  });
  const teacher = await onnxTeacher(i.ort, i.teacherFiles, i.stepEncoding, DENSE_STEPS);
  try {
    return await buildDistilledEdgeForm(
      { ort: i.ort, width: i.width, dense: DENSE_STEPS, plateau: i.plateau },
      teacher.curves,
      set(split.train),
      set(split.validation),
      i.student ?? DEFAULT_STUDENT,
    );
  } finally {
    await teacher.release();
  }
}
