/**
 * The predictor's output head (SPEC §4): Linear(F, M) -> ReLU -> Linear(M, 1) -> sigmoid, applied
 * to every row (time step) independently; forward and backward. PyTorch Linear semantics:
 * y = x Wᵀ + b with W [out, in].
 */
import { matmulNN, transpose } from "./matmul";

export interface HeadWeights {
  w1: Float32Array; // [M, F]
  b1: Float32Array; // [M]
  w2: Float32Array; // [1, M]
  b2: Float32Array; // [1]
}

export interface HeadCache {
  /** ReLU output [R, M]. */
  hid: Float32Array;
  /** Sigmoid output [R]. */
  out: Float32Array;
}

/** @param z [R, F] rows of features. */
export function headForward(
  z: Float32Array,
  w: HeadWeights,
  R: number,
  F: number,
  M: number,
): HeadCache {
  const hid = new Float32Array(R * M);
  matmulNN(z, transpose(w.w1, M, F), hid, R, M, F, false);
  const out = new Float32Array(R);
  const b2 = w.b2[0];
  for (let r = 0; r < R; r++) {
    const o = r * M;
    let s = 0;
    for (let m = 0; m < M; m++) {
      const v = hid[o + m] + w.b1[m];
      const a = Math.max(v, 0);
      hid[o + m] = a;
      s += a * w.w2[m];
    }
    out[r] = 1 / (1 + Math.exp(-(s + b2)));
  }
  return { hid, out };
}

/**
 * Backward from dL/dout [R]; accumulates (+=) into the weight gradients and dz [R, F].
 */
export function headBackward(
  z: Float32Array,
  w: HeadWeights,
  cache: HeadCache,
  dOut: Float32Array,
  R: number,
  F: number,
  M: number,
  grads: HeadWeights,
  dz: Float32Array,
): void {
  const { hid, out } = cache;
  const dHid = new Float32Array(R * M);
  let db2 = 0;
  for (let r = 0; r < R; r++) {
    const s = out[r];
    const dPre = dOut[r] * s * (1 - s);
    db2 += dPre;
    const o = r * M;
    for (let m = 0; m < M; m++) {
      const a = hid[o + m];
      grads.w2[m] += dPre * a;
      dHid[o + m] = a > 0 ? dPre * w.w2[m] : 0;
    }
  }
  grads.b2[0] += db2;
  for (let r = 0; r < R; r++) {
    const o = r * M;
    for (let m = 0; m < M; m++) grads.b1[m] += dHid[o + m];
  }
  // dW1 += dHidᵀ · Z ; dZ += dHid · W1
  matmulNN(transpose(dHid, R, M), z, grads.w1, M, F, R, true);
  matmulNN(dHid, w.w1, dz, R, F, M, true);
}
