/**
 * The distilled edge form's network (bundle-manifest.ts `edge_form`, kind "distilled"): an MLP
 * from the prompt embedding p̄ straight to the three dense curves,
 *   p̄ [D] -> Linear(D, S) -> tanh -> Linear(S, dense * 3) -> Clip(0, 1) -> [dense, 3],
 * trained on a teacher's outputs. It does D*S + S*3*dense multiply-adds per prompt (0.7 M at
 * D = 1024, S = 512) where the paper-size BiLSTM does about 1 G.
 *
 * Loss: MSE on the curves plus `diffWeight` x MSE on their per-step changes, because t* (SPEC §5)
 * is read from those changes, not from the values. Trained with the project's Adam and GEMM
 * (train/adam.ts, model/matmul.ts); weights are stored [in, out] so both GEMMs run NN.
 */
import { deriveSeed, splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { matmulNN, matmulNT, transpose } from "../model/matmul";
import { Adam } from "../train/adam";

export interface StudentMlp {
  width: number;
  hidden: number;
  outputs: number;
  /** w1 [D,S] | b1 [S] | w2 [S,O] | b2 [O], one buffer for Adam. */
  flat: Float32Array;
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

function views(width: number, hidden: number, outputs: number, flat: Float32Array): StudentMlp {
  const a = width * hidden;
  const b = a + hidden;
  const c = b + hidden * outputs;
  return {
    width,
    hidden,
    outputs,
    flat,
    w1: flat.subarray(0, a),
    b1: flat.subarray(a, b),
    w2: flat.subarray(b, c),
    b2: flat.subarray(c, c + outputs),
  };
}

/** PyTorch-style uniform(±1/sqrt(fan_in)) init; the output bias starts at the mean target. */
export function createStudent(
  width: number,
  hidden: number,
  outputs: number,
  meanTarget: Float32Array,
  seed: number,
): StudentMlp {
  const flat = new Float32Array(width * hidden + hidden + hidden * outputs + outputs);
  const s = views(width, hidden, outputs, flat);
  const rng = splitMix32Random(deriveSeed(seed, 0x5717));
  const b1 = 1 / Math.sqrt(width);
  const b2 = 1 / Math.sqrt(hidden);
  for (let i = 0; i < s.w1.length; i++) s.w1[i] = rng.uniform(-b1, b1);
  for (let i = 0; i < s.b1.length; i++) s.b1[i] = rng.uniform(-b1, b1);
  for (let i = 0; i < s.w2.length; i++) s.w2[i] = rng.uniform(-b2, b2) * 0.1;
  s.b2.set(meanTarget);
  return s;
}

function forward(s: StudentMlp, x: Float32Array, n: number) {
  const h = new Float32Array(n * s.hidden);
  matmulNN(x, s.w1, h, n, s.hidden, s.width, false);
  for (let r = 0; r < n; r++)
    for (let j = 0; j < s.hidden; j++) {
      const k = r * s.hidden + j;
      h[k] = Math.tanh(h[k] + s.b1[j]);
    }
  const out = new Float32Array(n * s.outputs);
  matmulNN(h, s.w2, out, n, s.outputs, s.hidden, false);
  for (let r = 0; r < n; r++) for (let j = 0; j < s.outputs; j++) out[r * s.outputs + j] += s.b2[j];
  return { h, out };
}

/** Outputs [n, O] for inputs [n, D], clipped to [0, 1] as the exported graph does. */
export function studentPredict(s: StudentMlp, x: Float32Array, n: number): Float32Array {
  const { out } = forward(s, x, n);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, out[i]));
  return out;
}

export interface StudentTraining {
  epochs: number;
  batch: number;
  lr: number;
  /** Weight of the per-step-change term. */
  diffWeight: number;
  /** Distance in the output vector between a step and the next (3: [dense, 3] layout). */
  stepStride: number;
  /**
   * "cosine": the learning rate falls from `lr` to 0 over the epochs (half a cosine); absent:
   * constant. At a constant rate the last Adam steps keep moving the weights, and with them the
   * slopes t* is read from, so the epoch training stops at decides t* (measured in
   * docs/notes/paper-size-edge.md).
   */
  lrSchedule?: "cosine";
  seed: number;
  onEpoch?: (epoch: number, loss: number) => void;
}

/** Loss of one batch; its gradient is written into `grad` (same layout as s.flat). */
export function studentLossAndGradient(
  s: StudentMlp,
  x: Float32Array,
  y: Float32Array,
  n: number,
  o: StudentTraining,
  grad: Float32Array,
): number {
  const { h, out } = forward(s, x, n);
  const O = s.outputs;
  const dOut = new Float32Array(n * O);
  const nv = n * O;
  const nd = n * (O - o.stepStride);
  let loss = 0;
  for (let r = 0; r < n; r++) {
    const base = r * O;
    for (let j = 0; j < O; j++) {
      const e = out[base + j] - y[base + j];
      loss += (e * e) / nv;
      dOut[base + j] += (2 * e) / nv;
    }
    for (let j = 0; j + o.stepStride < O; j++) {
      const a = base + j;
      const b = a + o.stepStride;
      const de = out[b] - out[a] - (y[b] - y[a]);
      loss += (o.diffWeight * de * de) / nd;
      const g = (2 * o.diffWeight * de) / nd;
      dOut[b] += g;
      dOut[a] -= g;
    }
  }
  const g = views(s.width, s.hidden, O, grad);
  matmulNN(transpose(h, n, s.hidden), dOut, g.w2, s.hidden, O, n, false);
  g.b2.fill(0);
  for (let r = 0; r < n; r++) for (let j = 0; j < O; j++) g.b2[j] += dOut[r * O + j];
  // dH = dOut · W2ᵀ, then through tanh.
  const dH = new Float32Array(n * s.hidden);
  matmulNT(dOut, s.w2, dH, n, s.hidden, O, false);
  g.b1.fill(0);
  for (let r = 0; r < n; r++)
    for (let j = 0; j < s.hidden; j++) {
      const k = r * s.hidden + j;
      dH[k] *= 1 - h[k] * h[k];
      g.b1[j] += dH[k];
    }
  matmulNN(transpose(x, n, s.width), dH, g.w1, s.width, s.hidden, n, false);
  return loss;
}

/** The learning rate of 1-based `epoch` under `o.lrSchedule`. */
export function studentLearningRate(o: StudentTraining, epoch: number): number {
  if (o.lrSchedule !== "cosine") return o.lr;
  return 0.5 * o.lr * (1 + Math.cos((Math.PI * (epoch - 1)) / o.epochs));
}

/**
 * Trains `s` in place on inputs x [n, D] and targets y [n, O]: shuffled mini-batches, Adam.
 * @returns the last epoch's mean batch loss
 */
export function trainStudent(
  s: StudentMlp,
  x: Float32Array,
  y: Float32Array,
  n: number,
  o: StudentTraining,
): number {
  // Adam reads opts.lr at every update, so the schedule sets it once per epoch.
  const adamOpts = { lr: o.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  const adam = new Adam(s.flat.length, adamOpts);
  const grad = new Float32Array(s.flat.length);
  const rng = splitMix32Random(deriveSeed(o.seed, 0xd157));
  const order = Array.from({ length: n }, (_, i) => i);
  let last = Number.NaN;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    adamOpts.lr = studentLearningRate(o, epoch);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let sum = 0;
    let batches = 0;
    for (let b0 = 0; b0 < n; b0 += o.batch) {
      const rows = order.slice(b0, b0 + o.batch);
      const xb = new Float32Array(rows.length * s.width);
      const yb = new Float32Array(rows.length * s.outputs);
      rows.forEach((r, k) => {
        xb.set(x.subarray(r * s.width, (r + 1) * s.width), k * s.width);
        yb.set(y.subarray(r * s.outputs, (r + 1) * s.outputs), k * s.outputs);
      });
      sum += studentLossAndGradient(s, xb, yb, rows.length, o, grad);
      batches++;
      adam.update(s.flat, grad);
    }
    last = sum / batches;
    o.onEpoch?.(epoch, last);
  }
  return last;
}
