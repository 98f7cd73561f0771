/**
 * Parameter layout of the predictor under PyTorch's names (so fixtures/lstm-ref maps 1:1):
 * lstm.weight_ih_l{k}[_reverse] [4H, Din_k], lstm.weight_hh_l{k}[_reverse] [4H, H],
 * lstm.bias_ih_l{k}[_reverse] [4H], lstm.bias_hh_l{k}[_reverse] [4H] (gate order i,f,g,o),
 * fc1.weight [M, 2H], fc1.bias [M], fc2.weight [1, M], fc2.bias [1]; the 3-head variant
 * prefixes the head tensors with heads.{0,1,2}.; mlp-tanh has mlp.weight [2H, D], mlp.bias [2H].
 *
 * All tensors are views into one flat Float32Array (optionally on a SharedArrayBuffer), so
 * Adam, checkpoints and worker threads handle a single buffer.
 *
 * Initialisation (seeded) follows PyTorch's defaults: every LSTM tensor uniform(-1/sqrt(H),
 * 1/sqrt(H)); a Linear layer's weight and bias uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), which is
 * what kaiming_uniform_(a=sqrt(5)) reduces to.
 */

import { deriveSeed, splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { headCount, headPrefix, type ModelConfig } from "./config";

interface ParamTensor {
  data: Float32Array;
  shape: readonly number[];
}
/** Name -> tensor; insertion order = the flat layout order. */
export type ParamMap = Map<string, ParamTensor>;

export interface ParamSpec {
  name: string;
  shape: number[];
  /** Init bound b: uniform(-b, b). */
  bound: number;
}

export function paramSpecs(cfg: ModelConfig): ParamSpec[] {
  const { hidden: H, mlp: M, width: D } = cfg;
  const specs: ParamSpec[] = [];
  if (cfg.architecture === "mlp-tanh") {
    const b = 1 / Math.sqrt(D);
    specs.push({ name: "mlp.weight", shape: [2 * H, D], bound: b });
    specs.push({ name: "mlp.bias", shape: [2 * H], bound: b });
  } else {
    const b = 1 / Math.sqrt(H);
    for (let l = 0; l < cfg.layers; l++) {
      const din = l === 0 ? D : 2 * H;
      for (const sfx of ["", "_reverse"]) {
        specs.push({ name: `lstm.weight_ih_l${l}${sfx}`, shape: [4 * H, din], bound: b });
        specs.push({ name: `lstm.weight_hh_l${l}${sfx}`, shape: [4 * H, H], bound: b });
        specs.push({ name: `lstm.bias_ih_l${l}${sfx}`, shape: [4 * H], bound: b });
        specs.push({ name: `lstm.bias_hh_l${l}${sfx}`, shape: [4 * H], bound: b });
      }
    }
  }
  for (let h = 0; h < headCount(cfg.architecture); h++) {
    const p = headPrefix(cfg.architecture, h);
    const b1 = 1 / Math.sqrt(2 * H);
    const b2 = 1 / Math.sqrt(M);
    specs.push({ name: `${p}fc1.weight`, shape: [M, 2 * H], bound: b1 });
    specs.push({ name: `${p}fc1.bias`, shape: [M], bound: b1 });
    specs.push({ name: `${p}fc2.weight`, shape: [1, M], bound: b2 });
    specs.push({ name: `${p}fc2.bias`, shape: [1], bound: b2 });
  }
  return specs;
}

export function specsSize(specs: readonly ParamSpec[]): number {
  return specs.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
}

/** Views named tensors onto `flat` (allocated when absent) in spec order. */
export function viewParams(
  specs: readonly ParamSpec[],
  flat: Float32Array = new Float32Array(specsSize(specs)),
): { flat: Float32Array; map: ParamMap } {
  const map: ParamMap = new Map();
  let off = 0;
  for (const s of specs) {
    const len = s.shape.reduce((a, b) => a * b, 1);
    map.set(s.name, { data: flat.subarray(off, off + len), shape: s.shape });
    off += len;
  }
  return { flat, map };
}

/** Seeded PyTorch-style initialisation into `flat` (layout of paramSpecs). */
export function initParams(specs: readonly ParamSpec[], flat: Float32Array, seed: number): void {
  const rng = splitMix32Random(deriveSeed(seed, 0x1417));
  let off = 0;
  for (const s of specs) {
    const len = s.shape.reduce((a, b) => a * b, 1);
    for (let i = 0; i < len; i++) flat[off + i] = rng.uniform(-s.bound, s.bound);
    off += len;
  }
}
