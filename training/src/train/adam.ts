/**
 * Adam over one flat parameter buffer, numerically as torch.optim.Adam (no weight decay,
 * amsgrad off): m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²;
 * p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps). State is float32 like torch's.
 * SPEC §4: lr 1e-4. Hand-written because it is 10 lines on the flat buffer the model already uses.
 */

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export const ADAM_DEFAULTS: AdamOptions = { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

export class Adam {
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** Number of updates taken so far (torch's `step`). */
  step = 0;

  constructor(
    size: number,
    readonly opts: AdamOptions = ADAM_DEFAULTS,
  ) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  /** One update of `params` in place from `grads` (same flat layout). */
  update(params: Float32Array, grads: Float32Array): void {
    const { lr, beta1, beta2, eps } = this.opts;
    this.step += 1;
    const stepSize = lr / (1 - beta1 ** this.step);
    const bc2 = Math.sqrt(1 - beta2 ** this.step);
    const { m, v } = this;
    for (let i = 0; i < params.length; i++) {
      const g = grads[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      params[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2 + eps);
    }
  }
}
