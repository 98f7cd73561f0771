/**
 * The bundle stage's edge form (--edge-form distilled): a student of the run's full models
 * (real ONNX files in onnxruntime-node), trained on the training split and measured on its
 * validation prompts, and refused when there are none.
 */
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { DENSE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import { DEFAULT_PLATEAU } from "@budgetfusion/shared/plateau/step-budget";
import { METRIC_NAMES } from "@budgetfusion/shared/predictor/bundle-manifest";
import {
  EDGE_FORM_THRESHOLDS,
  measureAgreement,
} from "@budgetfusion/shared/predictor/edge-form-agreement";
import { defaultStepEncoding } from "@budgetfusion/shared/predictor/step-encoding";
import { splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { describe, expect, it } from "vitest";
import { EDGE_FORM_INPUT } from "../export/edge-form-export";
import { exportPredictorOnnx, ONNX_OUTPUT } from "../export/onnx-export";
import { parseModelConfig } from "../model/config";
import { initParams, paramSpecs, viewParams } from "../model/params";
import { type PromptRows, validationSplit } from "../pipeline/training-data";
import { onnxTeacher } from "./build-edge-form";
import { distilledEdgeFormOfRun } from "./run-edge-form";

const ort = createNodeOrt(1);
const WIDTH = 8;
const enc = defaultStepEncoding(WIDTH);

/** Three small random BiLSTMs; `inputScale` < 1 makes their curves follow the prompt weakly. */
function teacherFiles(inputScale: number): Uint8Array[] {
  const cfg = parseModelConfig({ architecture: "bilstm", width: WIDTH, hidden: 6, mlp: 6 });
  return METRIC_NAMES.map((_, k) => {
    const specs = paramSpecs(cfg);
    const { flat, map } = viewParams(specs);
    initParams(specs, flat, 40 + k);
    for (const dir of ["l0", "l0_reverse"]) {
      const w = (map.get(`lstm.weight_ih_${dir}`) as { data: Float32Array }).data;
      for (let i = 0; i < w.length; i++) w[i] *= inputScale;
    }
    return exportPredictorOnnx(map, { architecture: "bilstm" });
  });
}

function rows(n: number): PromptRows {
  const rng = splitMix32Random(5);
  const embeddings = new Float32Array(n * WIDTH);
  for (let i = 0; i < n; i++) {
    const v = Array.from({ length: WIDTH }, () => rng.uniform(-1, 1));
    const norm = Math.hypot(...v);
    v.forEach((x, d) => {
      embeddings[i * WIDTH + d] = x / norm;
    });
  }
  const targets = Object.fromEntries(
    METRIC_NAMES.map((m) => [m, new Float32Array(n * DENSE_STEPS)]),
  ) as PromptRows["targets"];
  return { ids: Array.from({ length: n }, (_, i) => 100 + i), embeddings, targets };
}

const student = {
  hidden: 32,
  epochs: 60,
  batch: 16,
  lr: 3e-3,
  diffWeight: 20,
  stepStride: 3,
  seed: 3,
};

describe("distilledEdgeFormOfRun", () => {
  it("distils on the training split and records its agreement on the validation prompts", async () => {
    const files = teacherFiles(0.05);
    const train = rows(60);
    const form = await distilledEdgeFormOfRun({
      ort,
      teacherFiles: files,
      stepEncoding: enc,
      trainRows: train,
      width: WIDTH,
      plateau: DEFAULT_PLATEAU,
      student,
    });
    const split = validationSplit(60);
    expect(form.kind).toBe("distilled");
    expect(form.method).toBe(`mlp-student(8-32-387, ${split.train.length} prompts)`);
    expect(form.agreement.prompts).toBe(split.validation.length);

    // The recorded agreement is the student's ONNX file against the teacher's files, recomputed
    // here on the validation prompts.
    const val = new Float32Array(split.validation.length * WIDTH);
    split.validation.forEach((r, j) => {
      val.set(train.embeddings.subarray(r * WIDTH, (r + 1) * WIDTH), j * WIDTH);
    });
    const teacher = await onnxTeacher(ort, files, enc, DENSE_STEPS);
    const expected = await teacher.curves(val, split.validation.length);
    await teacher.release();
    const session = await ort.createSession(form.onnx);
    const served = new Float32Array(expected.length);
    for (let j = 0; j < split.validation.length; j++) {
      const res = await session.run({
        [EDGE_FORM_INPUT]: {
          type: "float32",
          data: val.slice(j * WIDTH, (j + 1) * WIDTH),
          dims: [1, WIDTH],
        },
      });
      served.set(res[ONNX_OUTPUT].data as Float32Array, j * DENSE_STEPS * 3);
    }
    await session.release();
    expect(form.agreement).toEqual(
      measureAgreement(expected, served, split.validation.length, DENSE_STEPS, DEFAULT_PLATEAU),
    );
    // A teacher that barely follows the prompt is one a student matches to the bar.
    expect(form.shortfall).toBeUndefined();
    expect(form.agreement.curve_mae).toBeLessThan(EDGE_FORM_THRESHOLDS.distilled.curve_mae);
    expect(form.probePrompts).toBe(split.validation.length);
  });

  it("refuses a run without validation prompts, naming the flag", async () => {
    await expect(
      distilledEdgeFormOfRun({
        ort,
        teacherFiles: teacherFiles(1),
        stepEncoding: enc,
        trainRows: rows(6),
        width: WIDTH,
        plateau: DEFAULT_PLATEAU,
        student,
      }),
    ).rejects.toMatchObject({ field: "edge-form" });
  });
});
