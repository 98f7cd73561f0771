/**
 * One direction of one LSTM layer over a time-major batch, forward and backward (BPTT), with
 * PyTorch's semantics (torch.nn.LSTM): gate order i,f,g,o, two biases per gate,
 *   [i f g o] = [σ σ tanh σ](W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),
 *   c_t = f c_{t-1} + i g,  h_t = o tanh(c_t),  h_0 = c_0 = 0.
 * The reverse direction walks t = T-1..0 ("previous" means t+1). Golden-tested against
 * fixtures/lstm-ref in test/golden/lstm.test.ts.
 *
 * Layout: rows are (t, b) pairs, row = t*B + b. GEMMs are batched: the input projection and all
 * weight gradients are one large GEMM over T*B rows; only h·W_hhᵀ and dG·W_hh run per step.
 */
import { matmulNN, packB, transpose } from "./matmul";

export interface DirWeights {
  wih: Float32Array; // [4H, Din]
  whh: Float32Array; // [4H, H]
  bih: Float32Array; // [4H]
  bhh: Float32Array; // [4H]
}

export interface DirCache {
  /** Activated gates i,f,g,o per row, [T*B, 4H]. */
  gates: Float32Array;
  /** Cell states, [T*B, H]. */
  cells: Float32Array;
  /** Hidden states, [T*B, H] (contiguous copy of this direction's output). */
  hs: Float32Array;
}

export interface Dims {
  T: number;
  B: number;
  din: number;
  H: number;
}

/**
 * An input whose row (t, b) is prompts[b] + steps[t] (the predictor's p̄ + t̄, SPEC §4 Eq. 6).
 * The input projection and its weight gradient then take B + T rows instead of T*B: W x = W p +
 * W s. The result equals the dense path up to float rounding.
 */
export interface FactoredInput {
  /** [B, Din] */
  prompts: Float32Array;
  /** [T, Din] */
  steps: Float32Array;
}

/** gates[t*B + b] = x[t*B + b] · W_ihᵀ, dense or factored. */
function inputProjection(
  x: Float32Array,
  factored: FactoredInput | undefined,
  wihT: Float32Array,
  d: Dims,
  gates: Float32Array,
): void {
  const { T, B, din, H } = d;
  const G = 4 * H;
  if (!factored) {
    matmulNN(x, wihT, gates, T * B, G, din, false);
    return;
  }
  const perPrompt = new Float32Array(B * G);
  const perStep = new Float32Array(T * G);
  matmulNN(factored.prompts, wihT, perPrompt, B, G, din, false);
  matmulNN(factored.steps, wihT, perStep, T, G, din, false);
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++) {
      const o = (t * B + b) * G;
      for (let g = 0; g < G; g++) gates[o + g] = perPrompt[b * G + g] + perStep[t * G + g];
    }
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * Runs the direction and writes h_t into out[row*outStride + outOff .. +H].
 * @param x [T*B, Din] time-major input
 */
export function lstmDirForward(
  x: Float32Array,
  w: DirWeights,
  d: Dims,
  reverse: boolean,
  out: Float32Array,
  outStride: number,
  outOff: number,
  factored?: FactoredInput,
): DirCache {
  const { T, B, din, H } = d;
  const G = 4 * H;
  const rows = T * B;
  const gates = new Float32Array(rows * G);
  const cells = new Float32Array(rows * H);
  const hs = new Float32Array(rows * H);
  // Input projection for every step at once, biases folded in.
  inputProjection(x, factored, transpose(w.wih, G, din), d, gates);
  const whhT = packB(transpose(w.whh, G, H), H, G); // [H, 4H], packed once for all steps
  for (let r = 0; r < rows; r++) {
    const o = r * G;
    for (let g = 0; g < G; g++) gates[o + g] += w.bih[g] + w.bhh[g];
  }
  const rec = new Float32Array(B * G);
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const tp = reverse ? t + 1 : t - 1;
    const first = s === 0;
    if (!first) matmulNN(hs.subarray(tp * B * H, (tp + 1) * B * H), whhT, rec, B, G, H, false);
    for (let b = 0; b < B; b++) {
      const row = t * B + b;
      const go = row * G;
      const co = row * H;
      const po = (tp * B + b) * H;
      const ro = b * G;
      for (let j = 0; j < H; j++) {
        let zi = gates[go + j];
        let zf = gates[go + H + j];
        let zg = gates[go + 2 * H + j];
        let zo = gates[go + 3 * H + j];
        if (!first) {
          zi += rec[ro + j];
          zf += rec[ro + H + j];
          zg += rec[ro + 2 * H + j];
          zo += rec[ro + 3 * H + j];
        }
        const ig = sigmoid(zi);
        const fg = sigmoid(zf);
        const gg = Math.tanh(zg);
        const og = sigmoid(zo);
        gates[go + j] = ig;
        gates[go + H + j] = fg;
        gates[go + 2 * H + j] = gg;
        gates[go + 3 * H + j] = og;
        const c = (first ? 0 : fg * cells[po + j]) + ig * gg;
        cells[co + j] = c;
        const h = og * Math.tanh(c);
        hs[co + j] = h;
        out[row * outStride + outOff + j] = h;
      }
    }
  }
  return { gates, cells, hs };
}

export interface DirGrads {
  wih: Float32Array;
  whh: Float32Array;
  bih: Float32Array;
  bhh: Float32Array;
}

/**
 * BPTT for one direction. Accumulates (+=) into the weight gradients and, when dx is given, into
 * dx [T*B, Din]. dOut holds dL/dh_t at dOut[row*outStride + outOff ..].
 */
export function lstmDirBackward(
  x: Float32Array,
  w: DirWeights,
  cache: DirCache,
  d: Dims,
  reverse: boolean,
  dOut: Float32Array,
  outStride: number,
  outOff: number,
  grads: DirGrads,
  dx: Float32Array | null,
  factored?: FactoredInput,
): void {
  const { T, B, din, H } = d;
  const G = 4 * H;
  const rows = T * B;
  const { gates, cells, hs } = cache;
  const dG = new Float32Array(rows * G);
  const dhNext = new Float32Array(B * H);
  const whh = packB(w.whh, G, H); // [4H, H], packed once for all steps
  const dcNext = new Float32Array(B * H);
  for (let s = T - 1; s >= 0; s--) {
    const t = reverse ? T - 1 - s : s;
    const tp = reverse ? t + 1 : t - 1;
    const first = s === 0;
    for (let b = 0; b < B; b++) {
      const row = t * B + b;
      const go = row * G;
      const co = row * H;
      const po = (tp * B + b) * H;
      const bo = b * H;
      for (let j = 0; j < H; j++) {
        const ig = gates[go + j];
        const fg = gates[go + H + j];
        const gg = gates[go + 2 * H + j];
        const og = gates[go + 3 * H + j];
        const tc = Math.tanh(cells[co + j]);
        const dh = dOut[row * outStride + outOff + j] + dhNext[bo + j];
        const dc = dh * og * (1 - tc * tc) + dcNext[bo + j];
        const cPrev = first ? 0 : cells[po + j];
        dG[go + j] = dc * gg * ig * (1 - ig);
        dG[go + H + j] = dc * cPrev * fg * (1 - fg);
        dG[go + 2 * H + j] = dc * ig * (1 - gg * gg);
        dG[go + 3 * H + j] = dh * tc * og * (1 - og);
        dcNext[bo + j] = dc * fg;
      }
    }
    if (!first) matmulNN(dG.subarray(t * B * G, (t + 1) * B * G), whh, dhNext, B, H, G, false);
  }
  // Bias gradients: column sums of dG (both biases receive the same gradient).
  for (let r = 0; r < rows; r++) {
    const o = r * G;
    for (let g = 0; g < G; g++) {
      const v = dG[o + g];
      grads.bih[g] += v;
      grads.bhh[g] += v;
    }
  }
  const dGT = transpose(dG, rows, G); // [4H, T*B]
  if (factored) {
    // dW_ih += Σ_(t,b) dG ⊗ (p_b + s_t) = (Σ_t dG)ᵀ · P + (Σ_b dG)ᵀ · S
    const perPrompt = new Float32Array(B * G);
    const perStep = new Float32Array(T * G);
    for (let t = 0; t < T; t++)
      for (let b = 0; b < B; b++) {
        const o = (t * B + b) * G;
        for (let g = 0; g < G; g++) {
          perPrompt[b * G + g] += dG[o + g];
          perStep[t * G + g] += dG[o + g];
        }
      }
    matmulNN(transpose(perPrompt, B, G), factored.prompts, grads.wih, G, din, B, true);
    matmulNN(transpose(perStep, T, G), factored.steps, grads.wih, G, din, T, true);
  } else {
    // dW_ih += dGᵀ · X
    matmulNN(dGT, x, grads.wih, G, din, rows, true);
  }
  // dW_hh += dGᵀ · H_prev, where H_prev row (t,b) = h_{tp}(b) (0 at the first processed step).
  const hPrev = new Float32Array(rows * H);
  for (let t = 0; t < T; t++) {
    const tp = reverse ? t + 1 : t - 1;
    if (tp < 0 || tp >= T) continue;
    hPrev.set(hs.subarray(tp * B * H, (tp + 1) * B * H), t * B * H);
  }
  matmulNN(dGT, hPrev, grads.whh, G, H, rows, true);
  if (dx) matmulNN(dG, w.wih, dx, rows, din, G, true);
}
