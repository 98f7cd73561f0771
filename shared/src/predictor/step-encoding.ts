/**
 * Predictor input features (SPEC §4, paper Eq. 6): x_i = p̄ + t̄_i for every dense step i.
 * t̄_i is the transformer sinusoidal encoding of the 1-based step index, scaled so that it has
 * the same order of magnitude as the L2-normalised prompt embedding (interpretation recorded in
 * docs/interpretations.md; the scale travels in the bundle manifest).
 */
import { ShapeError } from "../errors";
import { DENSE_STEPS } from "../grid/step-grid";
import type { StepEncoding } from "./bundle-manifest";

/**
 * Default encoding for a prompt embedding of `width` dims: a sinusoid of L2 norm `norm`
 * (1 = the norm of the normalised prompt embedding).
 */
export function defaultStepEncoding(
  width: number,
  position: StepEncoding["position"] = "step",
  norm = 1,
): StepEncoding {
  return { type: "sinusoidal", base: 10_000, scale: norm / Math.sqrt(width / 2), width, position };
}

const LOG_SPAN = Math.log(DENSE_STEPS);

/**
 * The encoded position of a step. log_step keeps the 1..129 span but gives the first steps
 * (where quality curves move) most of it: over t = 65..129, where they are flat, it moves 14%
 * of the span instead of 50%, so the encoding itself drifts little there and a predictor's
 * tail inherits less slope from it (docs/interpretations.md).
 */
export function stepPosition(step: number, enc: StepEncoding): number {
  return enc.position === "log_step" ? 1 + ((DENSE_STEPS - 1) * Math.log(step)) / LOG_SPAN : step;
}

/** t̄ for step `step` (1-based): [sin(p w_0), cos(p w_0), sin(p w_1), ...] * scale, w_k = base^(-2k/width), p = stepPosition(step). */
export function stepEncodingVector(step: number, enc: StepEncoding): Float32Array {
  const out = new Float32Array(enc.width);
  for (let k = 0; 2 * k < enc.width; k++) {
    const angle = stepPosition(step, enc) * enc.base ** ((-2 * k) / enc.width);
    out[2 * k] = Math.sin(angle) * enc.scale;
    if (2 * k + 1 < enc.width) out[2 * k + 1] = Math.cos(angle) * enc.scale;
  }
  return out;
}

/**
 * Features for a batch of prompt embeddings: `[B, steps, width]` row-major, where
 * `embeddings` is `[B, width]` row-major and step i of row b is `embeddings[b] + t̄_(i+1)`.
 * `withStepEncoding = false` builds the "no step encoding" ablation input (SPEC §6).
 */
export function predictorFeatures(
  embeddings: Float32Array,
  batch: number,
  steps: number,
  enc: StepEncoding,
  withStepEncoding = true,
): Float32Array {
  const width = enc.width;
  if (embeddings.length !== batch * width) {
    throw new ShapeError(
      `prompt embeddings have ${embeddings.length} values, expected batch ${batch} x width ${width}`,
      { field: "embeddings" },
    );
  }
  const table = Array.from({ length: steps }, (_, i) => stepEncodingVector(i + 1, enc));
  const out = new Float32Array(batch * steps * width);
  for (let b = 0; b < batch; b++) {
    const prompt = embeddings.subarray(b * width, (b + 1) * width);
    for (let i = 0; i < steps; i++) {
      const row = out.subarray((b * steps + i) * width, (b * steps + i + 1) * width);
      row.set(prompt);
      if (withStepEncoding) for (let d = 0; d < width; d++) row[d] += table[i][d];
    }
  }
  return out;
}
