/** Runs exported predictors as serving does (onnxruntime through the injected port). */
import { readFile } from "node:fs/promises";
import { DENSE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import {
  METRIC_NAMES,
  type MetricName,
  type StepEncoding,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import type { OrtPort } from "@budgetfusion/shared/runtime/ort-port";
import { featuresFor, type PromptRows } from "./training-data";

/** One exported predictor on features [n, 129, D] -> scores [n, 129]. */
async function predictOnnx(
  ort: OrtPort,
  path: string,
  features: Float32Array,
  n: number,
  width: number,
): Promise<Float32Array> {
  const session = await ort.createSession(new Uint8Array(await readFile(path)));
  try {
    const out = await session.run(
      { features: { type: "float32", data: features, dims: [n, DENSE_STEPS, width] } },
      ["scores"],
    );
    return out.scores.data as Float32Array;
  } finally {
    await session.release();
  }
}

/**
 * The dense predicted curves of `rows`, per metric [n, 129], from one model file per metric
 * (`modelOf`), fed the features that model was trained on.
 */
export async function predictCurves(
  ort: OrtPort,
  modelOf: (metric: MetricName) => string,
  rows: PromptRows,
  width: number,
  withStepEncoding: boolean,
  encoding: StepEncoding,
): Promise<Record<MetricName, Float32Array>> {
  const features = featuresFor(rows, width, withStepEncoding, encoding);
  const perMetric = {} as Record<MetricName, Float32Array>;
  for (const m of METRIC_NAMES)
    perMetric[m] = await predictOnnx(ort, modelOf(m), features, rows.ids.length, width);
  return perMetric;
}

/** Per prompt, its three dense curves (views into the [n, 129] arrays). */
export function curvesPerPrompt(
  data: Record<MetricName, Float32Array>,
  n: number,
): Record<MetricName, Float32Array>[] {
  return Array.from(
    { length: n },
    (_, i) =>
      Object.fromEntries(
        METRIC_NAMES.map((m) => [m, data[m].subarray(i * DENSE_STEPS, (i + 1) * DENSE_STEPS)]),
      ) as Record<MetricName, Float32Array>,
  );
}
