/**
 * Teachers for the edge-form fixtures and the paper-size benchmark (Node only): BiLSTMs with the
 * SPEC §4 architecture whose LSTM and first head layer keep their seeded random weights and
 * whose last Linear is fitted (ridge regression on the logit) to plateau-shaped curves
 *   m(t) = lo + (hi - lo) (1 - exp(-t / tau(p̄))),   tau = tau0 exp(e tanh(4 u · p̄)),
 * with a random direction u per metric, so t* depends on the prompt the way a trained
 * predictor's does, and layer 1 does not read the step encoding's fast sinusoids. A fully
 * random network gives curves without a plateau, whose t* jumps between wiggles (measured: a
 * student then agrees within 3 steps on 35-80% of prompts); an edge form is made from a trained
 * teacher, which this one stands in for.
 */

import type { StepEncoding } from "@budgetfusion/shared/predictor/bundle-manifest";
import { METRIC_NAMES } from "@budgetfusion/shared/predictor/bundle-manifest";
import { predictorFeatures } from "@budgetfusion/shared/predictor/step-encoding";
import { splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { type ModelConfig, parseModelConfig } from "@budgetfusion/training/model/config";
import {
  initParams,
  type ParamMap,
  paramSpecs,
  viewParams,
} from "@budgetfusion/training/model/params";
import { predictorHeadFeatures } from "@budgetfusion/training/model/predictor";

const SHAPES = { lsnr: [0.2, 0.9, 9], dsim: [0.0, 0.8, 6], iclip: [0.6, 0.95, 14] } as const;

/** Solves (AᵀA + λI) w = Aᵀy by Gaussian elimination (A has a handful of columns). */
function ridge(a: Float64Array, y: Float64Array, rows: number, cols: number, lambda: number) {
  const m = new Float64Array(cols * (cols + 1));
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < cols; i++) {
      const ai = a[r * cols + i];
      if (ai === 0) continue;
      for (let j = 0; j < cols; j++) m[i * (cols + 1) + j] += ai * a[r * cols + j];
      m[i * (cols + 1) + cols] += ai * y[r];
    }
  for (let i = 0; i < cols; i++) m[i * (cols + 1) + i] += lambda;
  for (let c = 0; c < cols; c++) {
    const piv = m[c * (cols + 1) + c];
    for (let r = c + 1; r < cols; r++) {
      const f = m[r * (cols + 1) + c] / piv;
      if (f !== 0)
        for (let j = c; j <= cols; j++) m[r * (cols + 1) + j] -= f * m[c * (cols + 1) + j];
    }
  }
  const w = new Float64Array(cols);
  for (let i = cols - 1; i >= 0; i--) {
    let s = m[i * (cols + 1) + cols];
    for (let j = i + 1; j < cols; j++) s -= m[i * (cols + 1) + j] * w[j];
    w[i] = s / m[i * (cols + 1) + i];
  }
  return w;
}

/** Step-encoding frequencies above this (rad per step, period < 125 steps) are not read. */
const MAX_STEP_FREQUENCY = 0.05;

/**
 * Zeroes layer 1's input weights on the embedding dims whose sinusoid turns faster than
 * MAX_STEP_FREQUENCY: a random LSTM passes them through as wiggles of a few steps' period,
 * which a trained one learns to ignore (they carry no information about quality).
 */
function mutePromptlessWiggles(params: ParamMap, enc: StepEncoding, H: number) {
  for (const dir of ["l0", "l0_reverse"]) {
    const w = (params.get(`lstm.weight_ih_${dir}`) as { data: Float32Array }).data;
    for (let d = 0; d < enc.width; d++) {
      const omega = enc.base ** ((-2 * Math.floor(d / 2)) / enc.width);
      if (omega <= MAX_STEP_FREQUENCY) continue;
      for (let r = 0; r < 4 * H; r++) w[r * enc.width + d] = 0;
    }
  }
}

export interface PlateauTeacher {
  params: ParamMap;
  architecture: "bilstm";
  tailPad: number;
}

/**
 * Three per-metric teachers (METRIC_NAMES order), readouts fitted on `embeddings` [n, width].
 * @param size width, hidden, mlp (layers 2)
 */
export function plateauTeachers(
  size: { width: number; hidden: number; mlp: number },
  enc: StepEncoding,
  embeddings: Float32Array,
  n: number,
  dense: number,
  seed: number,
  /** How strongly tau follows the prompt (0: one curve shape for every prompt). */
  promptEffect = 0.8,
  /** Scale of layer 1's input weights: below 1 the random network's own prompt effect shrinks. */
  inputScale = 1,
  tailPad = 8,
): PlateauTeacher[] {
  const cfg: ModelConfig = parseModelConfig({ architecture: "bilstm", ...size, tailPad });
  const x = predictorFeatures(embeddings, n, dense, enc);
  return METRIC_NAMES.map((metric, k) => {
    const specs = paramSpecs(cfg);
    const { flat, map } = viewParams(specs);
    initParams(specs, flat, seed + k);
    mutePromptlessWiggles(map, enc, size.hidden);
    for (const dir of ["l0", "l0_reverse"]) {
      const w = (map.get(`lstm.weight_ih_${dir}`) as { data: Float32Array }).data;
      for (let i = 0; i < w.length; i++) w[i] *= inputScale;
    }
    const rng = splitMix32Random(seed * 31 + k);
    const u = Float32Array.from({ length: size.width }, () => rng.uniform(-1, 1));
    const un = Math.hypot(...u);
    const [lo, hi, tau0] = SHAPES[metric];
    const hid = predictorHeadFeatures(cfg, map, x, n, dense);
    const cols = size.mlp + 1;
    const a = new Float64Array(n * dense * cols);
    const y = new Float64Array(n * dense);
    for (let b = 0; b < n; b++) {
      let dot = 0;
      for (let d = 0; d < size.width; d++) dot += (u[d] / un) * embeddings[b * size.width + d];
      const tau = tau0 * Math.exp(promptEffect * Math.tanh(dot * 4));
      for (let t = 0; t < dense; t++) {
        const r = b * dense + t;
        for (let j = 0; j < size.mlp; j++) a[r * cols + j] = hid[r * size.mlp + j];
        a[r * cols + size.mlp] = 1;
        const m = lo + (hi - lo) * (1 - Math.exp(-(t + 1) / tau));
        const v = Math.min(0.999, Math.max(0.001, m));
        y[r] = Math.log(v / (1 - v));
      }
    }
    const w = ridge(a, y, n * dense, cols, 1e-3);
    (map.get("fc2.weight") as { data: Float32Array }).data.set(w.subarray(0, size.mlp));
    (map.get("fc2.bias") as { data: Float32Array }).data[0] = w[size.mlp];
    return { params: map, architecture: "bilstm" as const, tailPad };
  });
}
