/**
 * The pipeline's guard against NaN/Inf: checked after each UNet call, each scheduler step and
 * the VAE, so a diverging run stops at the step and stage that diverged instead of surfacing as
 * a NaN pixel in the PNG encoder. One pass over the latents costs nothing next to a UNet call.
 */
import { NonFiniteError } from "@budgetfusion/shared/errors";

export function assertFinite(values: Float32Array, stage: string, where: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new NonFiniteError(
        `${stage} produced ${values[i]} at index ${i} ${where} (fp16 v-prediction models and out-of-range scheduler settings are known causes)`,
        { field: stage },
      );
    }
  }
}
