/**
 * The whole predictor network (SPEC §4, config.ts lists the architectures): forward, loss and
 * full backward for one shard of a batch. Inputs are batch-first [n, T, D] as PyTorch's
 * batch_first LSTM; internally rows are time-major (row = t*n + b) so each recurrent step reads
 * a contiguous block.
 *
 * Loss: curve-loss.ts (MSE, plus an optional first-difference term) normalised by the element
 * count of the *whole* batch (PyTorch's mean reduction for plain MSE), so a shard
 * passes the batch's element count as `lossDenominator`; shard gradients then simply add up
 * (data-parallel training gives the single-thread gradient).
 */

import { ShapeError } from "@budgetfusion/shared/errors";
import { deriveSeed, splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { effectiveTailPad, headCount, headPrefix, type ModelConfig } from "./config";
import { curveLoss } from "./curve-loss";
import { gridInterpolation, interpolateRows, interpolateRowsBackward } from "./grid-output";
import { type HeadCache, type HeadWeights, headBackward, headForward } from "./heads";
import {
  type DirCache,
  type FactoredInput,
  lstmDirBackward,
  lstmDirForward,
} from "./lstm-direction";
import { matmulNN, transpose } from "./matmul";
import type { ParamMap } from "./params";

export interface ShardOptions {
  /** Apply dropout (training). */
  train: boolean;
  /** Seed of this batch's dropout streams (one stream per sample). */
  dropoutSeed?: number;
  /** Index of this shard's first sample within the batch (dropout stream id). */
  sampleOffset?: number;
  /** Weight of the first-difference term of the loss (curve-loss.ts); 0 = plain L2. */
  diffWeight?: number;
}

interface EncoderCache {
  /** Encoder output before dropout, [R, 2H]. */
  feat: Float32Array;
  layerInputs: Float32Array[];
  dirCaches: DirCache[][];
  /** Layer 0's input as p̄ + t̄ when it has that form (factorInput). */
  factored?: FactoredInput;
}

/** Largest |x - (p_b + s_t)| the factored layer-0 path accepts: a few float32 ulps of x. */
const FACTOR_TOLERANCE = 1e-6;

/**
 * Every real predictor input is p̄_b + t̄_t (SPEC §4 Eq. 6), so a time-major x [T*n, D] is recovered
 * exactly enough as s_t = x(t, 0) and p_b = x(0, b) - x(0, 0); returns them when every row agrees
 * within FACTOR_TOLERANCE (then layer 0 costs n + T projections, not n*T: lstm-direction.ts),
 * else undefined and the dense path runs. Checked, not assumed, so any input stays exact.
 */
function factorInput(x: Float32Array, n: number, T: number, D: number): FactoredInput | undefined {
  if (n < 2) return undefined;
  const steps = new Float32Array(T * D);
  for (let t = 0; t < T; t++) steps.set(x.subarray(t * n * D, t * n * D + D), t * D);
  const prompts = new Float32Array(n * D);
  for (let b = 0; b < n; b++) for (let j = 0; j < D; j++) prompts[b * D + j] = x[b * D + j] - x[j];
  for (let t = 0; t < T; t++)
    for (let b = 0; b < n; b++) {
      const o = (t * n + b) * D;
      for (let j = 0; j < D; j++)
        if (Math.abs(x[o + j] - prompts[b * D + j] - steps[t * D + j]) > FACTOR_TOLERANCE)
          return undefined;
    }
  return { prompts, steps };
}

function tensor(params: ParamMap, name: string): Float32Array {
  const t = params.get(name);
  if (!t) throw new Error(`missing parameter ${name}`);
  return t.data;
}

function headWeights(p: ParamMap, cfg: ModelConfig, h: number): HeadWeights {
  const pre = headPrefix(cfg.architecture, h);
  return {
    w1: tensor(p, `${pre}fc1.weight`),
    b1: tensor(p, `${pre}fc1.bias`),
    w2: tensor(p, `${pre}fc2.weight`),
    b2: tensor(p, `${pre}fc2.bias`),
  };
}

function dirWeights(p: ParamMap, l: number, rev: boolean) {
  const s = `l${l}${rev ? "_reverse" : ""}`;
  return {
    wih: tensor(p, `lstm.weight_ih_${s}`),
    whh: tensor(p, `lstm.weight_hh_${s}`),
    bih: tensor(p, `lstm.bias_ih_${s}`),
    bhh: tensor(p, `lstm.bias_hh_${s}`),
  };
}

/** [n,T,D] batch-first -> [T*n, D] time-major. */
function toTimeMajor(x: Float32Array, n: number, T: number, D: number): Float32Array {
  const out = new Float32Array(n * T * D);
  for (let b = 0; b < n; b++)
    for (let t = 0; t < T; t++)
      out.set(x.subarray((b * T + t) * D, (b * T + t + 1) * D), (t * n + b) * D);
  return out;
}

/** Appends k copies of the last time step's rows to a time-major [T*n, D] input. */
function padTail(x: Float32Array, n: number, T: number, D: number, k: number): Float32Array {
  if (k === 0) return x;
  const out = new Float32Array(n * (T + k) * D);
  out.set(x);
  const last = x.subarray((T - 1) * n * D, T * n * D);
  for (let j = 0; j < k; j++) out.set(last, (T + j) * n * D);
  return out;
}

function encoderForward(
  cfg: ModelConfig,
  p: ParamMap,
  x: Float32Array,
  n: number,
  T: number,
): EncoderCache {
  const H = cfg.hidden;
  const R = n * T;
  if (cfg.architecture === "mlp-tanh") {
    const feat = new Float32Array(R * 2 * H);
    matmulNN(
      x,
      transpose(tensor(p, "mlp.weight"), 2 * H, cfg.width),
      feat,
      R,
      2 * H,
      cfg.width,
      false,
    );
    const bias = tensor(p, "mlp.bias");
    for (let r = 0; r < R; r++)
      for (let j = 0; j < 2 * H; j++)
        feat[r * 2 * H + j] = Math.tanh(feat[r * 2 * H + j] + bias[j]);
    return { feat, layerInputs: [x], dirCaches: [] };
  }
  const layerInputs: Float32Array[] = [];
  const dirCaches: DirCache[][] = [];
  const factored = factorInput(x, n, T, cfg.width);
  let input = x;
  for (let l = 0; l < cfg.layers; l++) {
    const din = l === 0 ? cfg.width : 2 * H;
    const out = new Float32Array(R * 2 * H);
    const d = { T, B: n, din, H };
    const f = l === 0 ? factored : undefined;
    layerInputs.push(input);
    dirCaches.push([
      lstmDirForward(input, dirWeights(p, l, false), d, false, out, 2 * H, 0, f),
      lstmDirForward(input, dirWeights(p, l, true), d, true, out, 2 * H, H, f),
    ]);
    input = out;
  }
  return { feat: input, layerInputs, dirCaches, factored };
}

function encoderBackward(
  cfg: ModelConfig,
  p: ParamMap,
  g: ParamMap,
  c: EncoderCache,
  dFeat: Float32Array,
  n: number,
  T: number,
): void {
  const H = cfg.hidden;
  const R = n * T;
  if (cfg.architecture === "mlp-tanh") {
    const x = c.layerInputs[0];
    const dU = new Float32Array(R * 2 * H);
    const gb = tensor(g, "mlp.bias");
    for (let r = 0; r < R; r++)
      for (let j = 0; j < 2 * H; j++) {
        const u = c.feat[r * 2 * H + j];
        const v = dFeat[r * 2 * H + j] * (1 - u * u);
        dU[r * 2 * H + j] = v;
        gb[j] += v;
      }
    matmulNN(transpose(dU, R, 2 * H), x, tensor(g, "mlp.weight"), 2 * H, cfg.width, R, true);
    return;
  }
  let dOut = dFeat;
  for (let l = cfg.layers - 1; l >= 0; l--) {
    const din = l === 0 ? cfg.width : 2 * H;
    const d = { T, B: n, din, H };
    const input = c.layerInputs[l];
    const dx = l > 0 ? new Float32Array(R * din) : null;
    for (const rev of [false, true]) {
      lstmDirBackward(
        input,
        dirWeights(p, l, rev),
        c.dirCaches[l][rev ? 1 : 0],
        d,
        rev,
        dOut,
        2 * H,
        rev ? H : 0,
        dirWeights(g, l, rev),
        dx,
        l === 0 ? c.factored : undefined,
      );
    }
    if (dx) dOut = dx;
  }
}

/** Dropout multipliers [R, F] (0 or 1/(1-p)); sample b draws from its own stream. */
function dropoutMask(
  cfg: ModelConfig,
  n: number,
  T: number,
  F: number,
  opts: ShardOptions,
): Float32Array | null {
  if (!opts.train || cfg.dropout <= 0) return null;
  const keep = 1 / (1 - cfg.dropout);
  const mask = new Float32Array(n * T * F);
  for (let b = 0; b < n; b++) {
    const rng = splitMix32Random(deriveSeed(opts.dropoutSeed ?? 0, (opts.sampleOffset ?? 0) + b));
    for (let t = 0; t < T; t++) {
      const o = (t * n + b) * F;
      for (let j = 0; j < F; j++) mask[o + j] = rng.next() < cfg.dropout ? 0 : keep;
    }
  }
  return mask;
}

interface ForwardState {
  enc: EncoderCache;
  mask: Float32Array | null;
  z: Float32Array;
  heads: HeadCache[];
  /** Per head, the curve the model outputs (time-major [R]): the grid-interpolated head output
   * when cfg.outputGrid is set (grid-output.ts), else the head output itself. */
  curves: Float32Array[];
}

function outputInterpolation(cfg: ModelConfig, T: number) {
  if (!cfg.outputGrid) return null;
  const last = cfg.outputGrid[cfg.outputGrid.length - 1];
  if (last > T)
    throw new ShapeError(`outputGrid reaches step ${last}, the sequence has ${T}`, {
      field: "outputGrid",
    });
  return gridInterpolation(cfg.outputGrid, T);
}

function forwardAll(
  cfg: ModelConfig,
  p: ParamMap,
  x: Float32Array,
  n: number,
  T: number,
  opts: ShardOptions,
): ForwardState {
  const F = 2 * cfg.hidden;
  const R = n * T;
  const pad = effectiveTailPad(cfg);
  const xt = padTail(toTimeMajor(x, n, T, cfg.width), n, T, cfg.width, pad);
  const enc = encoderForward(cfg, p, xt, n, T + pad);
  const mask = dropoutMask(cfg, n, T, F, opts);
  // Time-major rows: the first R are the real steps, the padded ones follow.
  let z = enc.feat.subarray(0, R * F);
  if (mask) {
    z = new Float32Array(R * F);
    for (let i = 0; i < z.length; i++) z[i] = enc.feat[i] * mask[i];
  }
  const heads: HeadCache[] = [];
  for (let h = 0; h < headCount(cfg.architecture); h++)
    heads.push(headForward(z, headWeights(p, cfg, h), R, F, cfg.mlp));
  const grid = outputInterpolation(cfg, T);
  const curves = heads.map((hc) => (grid ? interpolateRows(grid, hc.out, n) : hc.out));
  return { enc, mask, z, heads, curves };
}

/** Outputs batch-first [n, T] (or [n, T, 3] for the 3-head model), in [0, 1]. */
export function predictorForward(
  cfg: ModelConfig,
  p: ParamMap,
  x: Float32Array,
  n: number,
  T: number,
): Float32Array {
  const st = forwardAll(cfg, p, x, n, T, { train: false });
  return gatherOutputs(st.curves, n, T);
}

/**
 * Head h's hidden layer (after ReLU), batch-first [n, T, M]: what its last Linear reads, for
 * fitting that layer alone (a readout over a fixed network).
 */
export function predictorHeadFeatures(
  cfg: ModelConfig,
  p: ParamMap,
  x: Float32Array,
  n: number,
  T: number,
  h = 0,
): Float32Array {
  const { hid } = forwardAll(cfg, p, x, n, T, { train: false }).heads[h];
  const M = cfg.mlp;
  const out = new Float32Array(n * T * M);
  for (let b = 0; b < n; b++)
    for (let t = 0; t < T; t++)
      out.set(hid.subarray((t * n + b) * M, (t * n + b + 1) * M), (b * T + t) * M);
  return out;
}

function gatherOutputs(curves: Float32Array[], n: number, T: number): Float32Array {
  const nh = curves.length;
  const out = new Float32Array(n * T * nh);
  for (let h = 0; h < nh; h++)
    for (let b = 0; b < n; b++)
      for (let t = 0; t < T; t++) out[(b * T + t) * nh + h] = curves[h][t * n + b];
  return out;
}

/**
 * Forward + loss + backward for a shard. Adds (+=) the gradient of
 * curveLoss(out - y) / lossDenominator (plain L2 when opts.diffWeight is 0) into `grads` and
 * returns that partial loss and the outputs.
 * @param y targets batch-first [n, T] (or [n, T, 3])
 */
export function predictorForwardBackward(
  cfg: ModelConfig,
  p: ParamMap,
  grads: ParamMap,
  x: Float32Array,
  y: Float32Array,
  n: number,
  T: number,
  lossDenominator: number,
  opts: ShardOptions,
): { loss: number; outputs: Float32Array } {
  const F = 2 * cfg.hidden;
  const R = n * T;
  const nh = headCount(cfg.architecture);
  const st = forwardAll(cfg, p, x, n, T, opts);
  const pad = effectiveTailPad(cfg);
  // Padded steps have no loss, so their rows of dz stay 0.
  const dz = new Float32Array((R + n * pad) * F);
  let loss = 0;
  const err = new Float32Array(R);
  const grid = outputInterpolation(cfg, T);
  for (let h = 0; h < nh; h++) {
    const out = st.curves[h];
    const dCurve = new Float32Array(R);
    for (let b = 0; b < n; b++)
      for (let t = 0; t < T; t++) err[t * n + b] = out[t * n + b] - y[(b * T + t) * nh + h];
    for (let b = 0; b < n; b++)
      loss += curveLoss(err, b, n, T, opts.diffWeight ?? 0, {
        out: dCurve,
        offset: b,
        stride: n,
        scale: 1 / lossDenominator,
      });
    const dOut = grid ? interpolateRowsBackward(grid, dCurve, n) : dCurve;
    headBackward(
      st.z,
      headWeights(p, cfg, h),
      st.heads[h],
      dOut,
      R,
      F,
      cfg.mlp,
      headWeights(grads, cfg, h),
      dz,
    );
  }
  if (st.mask) for (let i = 0; i < st.mask.length; i++) dz[i] *= st.mask[i];
  encoderBackward(cfg, p, grads, st.enc, dz, n, T + pad);
  return { loss: loss / lossDenominator, outputs: gatherOutputs(st.curves, n, T) };
}
