/**
 * Prompt embedding -> dense predicted metric curves (SPEC §4, paper Eq. 6): features
 * x_i = p̄ + t̄_i for i = 1..dense_steps, one predictor run per metric, output "scores"
 * [1, dense_steps] (multi-head bundles: [1, dense_steps, 3] in manifest.metrics order).
 */
import { ShapeError } from "@budgetfusion/shared/errors";
import { METRIC_NAMES, type MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";
import { predictorFeatures } from "@budgetfusion/shared/predictor/step-encoding";
import type { PortSession, PortTensor } from "@budgetfusion/shared/runtime/ort-port";
import type { LoadedPredictor } from "./load-predictor";

export type MetricCurves = Record<MetricName, Float32Array>;

/**
 * t̄_i for every dense step, [dense, width], computed once per loaded predictor: the features are
 * then p̄ + t̄_i, bit-identical to predictorFeatures (IEEE addition commutes; 0 + t̄ = t̄).
 */
const stepTables = new WeakMap<LoadedPredictor, Float32Array>();

function stepTable(predictor: LoadedPredictor): Float32Array {
  let table = stepTables.get(predictor);
  if (table === undefined) {
    const { dense_steps, step_encoding } = predictor.manifest;
    const zero = new Float32Array(step_encoding.width);
    table = predictorFeatures(zero, 1, dense_steps, step_encoding);
    stepTables.set(predictor, table);
  }
  return table;
}

function features(predictor: LoadedPredictor, embedding: Float32Array): Float32Array {
  const table = stepTable(predictor);
  const width = embedding.length;
  const out = new Float32Array(table.length);
  for (let i = 0; i < table.length; i += width) {
    for (let d = 0; d < width; d++) out[i + d] = embedding[d] + table[i + d];
  }
  return out;
}

function scoresFor(
  out: PortTensor | undefined,
  metricIndex: number,
  dense: number,
  name: string,
): Float32Array {
  if (out === undefined || !(out.data instanceof Float32Array)) {
    throw new ShapeError(`predictor output "${name}" missing or not float32`, { field: name });
  }
  if (out.data.length === dense) return Float32Array.from(out.data);
  if (out.data.length === dense * 3) {
    const curve = new Float32Array(dense);
    for (let i = 0; i < dense; i++) curve[i] = out.data[i * 3 + metricIndex];
    return curve;
  }
  throw new ShapeError(`predictor output "${name}" has dims [${out.dims}], expected [1,${dense}]`, {
    field: name,
  });
}

/** The edge form: p̄ in, [1, dense, 3] out (the step encoding is inside the network). */
async function edgeFormCurves(
  predictor: LoadedPredictor,
  session: PortSession,
  embedding: Float32Array,
): Promise<MetricCurves> {
  const { manifest } = predictor;
  const form = manifest.edge_form;
  const input = form?.input ?? "embedding";
  const output = form?.output ?? "scores";
  const res = await session.run(
    { [input]: { type: "float32", data: embedding, dims: [1, embedding.length] } },
    [output],
  );
  const curves = {} as MetricCurves;
  for (const metric of METRIC_NAMES) {
    curves[metric] = scoresFor(
      res[output],
      manifest.metrics.indexOf(metric),
      manifest.dense_steps,
      output,
    );
  }
  return curves;
}

/** `embedding` is the L2-normalised prompt embedding [width]; returns curves at steps 1..dense. */
export async function predictCurves(
  predictor: LoadedPredictor,
  embedding: Float32Array,
): Promise<MetricCurves> {
  const { manifest, sessions, edgeSession } = predictor;
  const dense = manifest.dense_steps;
  const enc = manifest.step_encoding;
  if (embedding.length !== enc.width) {
    throw new ShapeError(
      `prompt embedding has ${embedding.length} dims, bundle expects ${enc.width}`,
      {
        field: "embedding",
      },
    );
  }
  if (edgeSession !== undefined) return edgeFormCurves(predictor, edgeSession, embedding);
  if (sessions === undefined) throw new ShapeError("predictor has no sessions loaded");
  const feeds = {
    [manifest.predictor.input]: {
      type: "float32",
      data: features(predictor, embedding),
      dims: [1, dense, enc.width],
    },
  } satisfies Record<string, PortTensor>;
  const outputs = new Map<PortSession, Promise<Record<string, PortTensor>>>();
  const curves = {} as MetricCurves;
  for (const metric of METRIC_NAMES) {
    const s = sessions[metric];
    if (!outputs.has(s)) outputs.set(s, s.run(feeds, [manifest.predictor.output]));
    const out = (await outputs.get(s))?.[manifest.predictor.output];
    curves[metric] = scoresFor(
      out,
      manifest.metrics.indexOf(metric),
      dense,
      manifest.predictor.output,
    );
  }
  return curves;
}
