/**
 * Inference with trained parameters (SPEC §4): the model shape is read from the tensors
 * themselves, so only the architecture (and layer count) must be supplied.
 */
import { ShapeError, ValidationError } from "@budgetfusion/shared/errors";
import { type Architecture, headCount, headPrefix, type ModelConfig } from "../model/config";
import type { ParamMap } from "../model/params";
import { predictorForward } from "../model/predictor";

function shapeOf(params: ParamMap, name: string): readonly number[] {
  const t = params.get(name);
  if (!t) throw new ValidationError(`params: missing tensor ${name}`, { field: `params.${name}` });
  return t.shape;
}

/** What the tensors do not say about a model: its architecture and sequence handling. */
export interface ModelShape {
  architecture?: Architecture;
  tailPad?: number;
  /** Grid-interpolated output (model/grid-output.ts). */
  outputGrid?: readonly number[];
}

/** Rebuilds the ModelConfig (width, hidden, mlp, layers) from parameter shapes. */
export function modelConfigFromParams(params: ParamMap, shape: ModelShape = {}): ModelConfig {
  const architecture = shape.architecture ?? "bilstm";
  const grid = shape.outputGrid ? { outputGrid: [...shape.outputGrid] } : {};
  const mlp = shapeOf(params, `${headPrefix(architecture, 0)}fc1.weight`)[0];
  if (architecture === "mlp-tanh") {
    const [twoH, width] = shapeOf(params, "mlp.weight");
    return {
      architecture,
      width,
      hidden: twoH / 2,
      mlp,
      layers: 2,
      dropout: 0,
      tailPad: 0,
      ...grid,
    };
  }
  const [fourH, width] = shapeOf(params, "lstm.weight_ih_l0");
  let layers = 0;
  while (params.has(`lstm.weight_ih_l${layers}`)) layers++;
  const tailPad = shape.tailPad ?? 0;
  return { architecture, width, hidden: fourH / 4, mlp, layers, dropout: 0, tailPad, ...grid };
}

/**
 * Predicted curves for n sequences.
 * @param inputs [n, T, D] float32 batch-first
 * @returns [n, T] scores in [0, 1] ([n, T, 3] for bilstm-3head)
 */
export function predict(
  params: ParamMap,
  config: ModelShape,
  inputs: Float32Array,
  n: number,
): Float32Array {
  const cfg = modelConfigFromParams(params, config);
  const per = n * cfg.width;
  if (n < 1 || inputs.length % per !== 0)
    throw new ShapeError(`inputs: ${inputs.length} floats is not n=${n} x T x D=${cfg.width}`, {
      field: "inputs",
    });
  const T = inputs.length / per;
  const nh = headCount(cfg.architecture);
  const out = new Float32Array(n * T * nh);
  const chunk = 64;
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    const x = inputs.subarray(s * T * cfg.width, (s + m) * T * cfg.width);
    out.set(predictorForward(cfg, params, x, m, T), s * T * nh);
  }
  return out;
}
