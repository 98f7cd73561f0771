/**
 * Plain TypeScript reference of the mini world's three networks: text encoder (token lookup),
 * UNet (the exact denoiser of a spectral Gaussian mixture) and VAE decoder (fixed linear
 * upsampler). The ONNX graphs of diffusion-graphs.ts compute the same functions; the tests compare
 * them on random inputs. Maths: docs/mini-world.md §3, docs/notes/mini-world-experiments.md §2.
 *
 * Float64 arithmetic; tensors are row-major Float32Array.
 */
import { routeColoursRef } from "./colour-routing";
import type { LexiconTable } from "./lexicon-table";
import { P, packParams, unpackParams, type WorldParams, worldParams } from "./world-params";
import {
  C_HASH,
  C_LEX,
  C_TEXT,
  C_TOKEN,
  FEATURE,
  HASH_PRIME,
  J,
  K,
  LATENT_CHANNELS,
  LATENT_TO_RGB,
  REFERENCE_GRID,
  tokenHash,
  VAE_SCALING_FACTOR,
  type WorldTables,
} from "./world-spec";

const SEQ_LEN = 77;

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const clip = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
/** Token-level text features [B, 77, C_TOKEN]: lexicon features (colours routed) + hash code. */
function tokenFeaturesRef(ids: Int32Array, lex: LexiconTable, tables: WorldTables): Float32Array {
  const out = new Float32Array(ids.length * C_TOKEN);
  for (let n = 0; n < ids.length; n++) {
    const id = ids[n];
    const slot = lex.slotOf[id];
    const base = n * C_TOKEN;
    for (let c = 0; c < C_LEX; c++) out[base + c] = lex.features[slot * C_LEX + c];
    const presence = lex.features[slot * C_LEX + FEATURE.presence];
    for (let c = 0; c < C_HASH; c++) {
      const h = tokenHash(id, tables.hashMul[c], tables.hashAdd[c]);
      out[base + C_LEX + c] = (h / HASH_PRIME - 0.5) * presence;
    }
  }
  routeColoursRef(out, ids.length / SEQ_LEN, SEQ_LEN, C_TOKEN);
  return out;
}

/**
 * Text encoder: input_ids [B, 77] -> last_hidden_state [B, 77, C_TEXT]. Row 0 (the
 * <|startoftext|> position) carries the prompt's packed world parameters, the other rows are zero,
 * so the UNet's sum over tokens reads them back whatever the sequence layout.
 */
export function textEncoderRef(
  ids: Int32Array,
  lex: LexiconTable,
  tables: WorldTables,
): Float32Array {
  const tokens = tokenFeaturesRef(ids, lex, tables);
  const rows = ids.length / SEQ_LEN;
  const out = new Float32Array(ids.length * C_TEXT);
  for (let r = 0; r < rows; r++) {
    const pooled = new Float64Array(C_TOKEN);
    for (let t = 0; t < SEQ_LEN; t++) {
      for (let c = 0; c < C_TOKEN; c++) pooled[c] += tokens[(r * SEQ_LEN + t) * C_TOKEN + c];
    }
    out.set(packParams(worldParams(pooled)), r * SEQ_LEN * C_TEXT);
  }
  return out;
}

/** Mixture means [K, 4, h, w] (channel 3, grain, is zero-mean). */
function renderMeans(wp: WorldParams, tables: WorldTables, h: number, w: number): Float64Array {
  const out = new Float64Array(K * LATENT_CHANNELS * h * w);
  const hw = h * w;
  const mask = new Float64Array(J * hw);
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < J; j++) {
      const pos = [0, 1].map((d) => {
        const col = (k * J + j) * 2 + d;
        let z = tables.posBias[col];
        for (let c = 0; c < C_HASH; c++)
          z += P.posGain * wp.hash[c] * tables.posProj[c * K * J * 2 + col];
        return 0.1 + 0.8 * sigmoid(z);
      });
      const vis = sigmoid(P.visGain * (wp.count - j - 0.5));
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const dy = (y + 0.5) / h - pos[0];
          const dx = (x + 0.5) / w - pos[1];
          const d = Math.sqrt(dy * dy + dx * dx);
          mask[j * hw + y * w + x] = vis * sigmoid((wp.radius - d) / P.edge);
        }
      }
    }
    for (let c = 0; c < 3; c++) {
      const bg = wp.bg[c] + P.bgJitter * tables.bgJitter[k * 3 + c];
      for (let p = 0; p < hw; p++) {
        let tot = 0;
        let acc = 0;
        for (let j = 0; j < J; j++) {
          const m = mask[j * hw + p];
          tot += m;
          acc += m * (wp.obj[c] + P.colJitter * tables.colJitter[(k * J + j) * 3 + c]);
        }
        out[(k * LATENT_CHANNELS + c) * h * w + p] = bg + (acc - tot * bg) / Math.max(1, tot);
      }
    }
  }
  return out;
}

/** Orthonormal DCT-II matrix [n, n]: D[k][i] = s_k cos(pi (i + 0.5) k / n). */
function dctMatrix(n: number): Float64Array {
  const d = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(1 / n) * (1 + (Math.SQRT2 - 1) * Math.min(k, 1));
    for (let i = 0; i < n; i++) d[k * n + i] = s * Math.cos((Math.PI * (i + 0.5) * k) / n);
  }
  return d;
}

/** Y = Dh X Dw^T (forward) or Dh^T X Dw (inverse) for one [h, w] plane. */
function dct2(
  x: ArrayLike<number>,
  dh: Float64Array,
  dw: Float64Array,
  h: number,
  w: number,
  inverse: boolean,
): Float64Array {
  const tmp = new Float64Array(h * w);
  for (let k = 0; k < h; k++) {
    for (let i = 0; i < h; i++) {
      const c = inverse ? dh[i * h + k] : dh[k * h + i];
      for (let x2 = 0; x2 < w; x2++) tmp[k * w + x2] += c * x[i * w + x2];
    }
  }
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let l = 0; l < w; l++) {
      let acc = 0;
      for (let j = 0; j < w; j++) acc += tmp[y * w + j] * (inverse ? dw[j * w + l] : dw[l * w + j]);
      out[y * w + l] = acc;
    }
  }
  return out;
}

/** Spectrum lambda [4, h, w] of one prompt (DCT-diagonal covariance per channel). */
function spectrum(wp: WorldParams, h: number, w: number): Float64Array {
  const out = new Float64Array(LATENT_CHANNELS * h * w);
  for (let c = 0; c < LATENT_CHANNELS; c++) {
    for (let ky = 0; ky < h; ky++) {
      for (let kx = 0; kx < w; kx++) {
        const f = REFERENCE_GRID * Math.sqrt((ky / h) ** 2 + (kx / w) ** 2);
        const lf = Math.log(1 + f);
        out[(c * h + ky) * w + kx] =
          wp.amp[c] * Math.exp(-wp.alpha * lf) +
          (1 - wp.spec) * P.broad[c] * Math.exp(-P.broadAlpha[c] * lf) +
          P.lambdaFloor;
      }
    }
  }
  return out;
}

/** sigma(t) by linear interpolation in the train schedule (np.interp, as the scheduler does). */
export function sigmaAt(t: number, table: ArrayLike<number>): number {
  const tc = clip(t, 0, table.length - 1);
  const lo = Math.floor(tc);
  const hi = Math.min(lo + 1, table.length - 1);
  return table[lo] + (tc - lo) * (table[hi] - table[lo]);
}

/**
 * UNet: sample [B,4,h,w] (scaled model input), timestep (length 1 or B), encoder_hidden_states
 * [B,77,C_TEXT] -> epsilon [B,4,h,w], the exact posterior-mean noise prediction.
 */
export function unetRef(
  sample: Float32Array,
  timestep: ArrayLike<number>,
  ehs: Float32Array,
  dims: { b: number; h: number; w: number },
  tables: WorldTables,
  sigmaTable: ArrayLike<number>,
): Float32Array {
  const { b, h, w } = dims;
  const plane = h * w;
  const per = LATENT_CHANNELS * plane;
  const dh = dctMatrix(h);
  const dw = dctMatrix(w);
  const out = new Float32Array(b * per);
  for (let n = 0; n < b; n++) {
    const sigma = sigmaAt(timestep.length === 1 ? timestep[0] : timestep[n], sigmaTable);
    const scale = Math.sqrt(sigma * sigma + 1);
    const packed = new Float64Array(C_TEXT);
    for (let s = 0; s < SEQ_LEN; s++) {
      for (let c = 0; c < C_TEXT; c++) packed[c] += ehs[(n * SEQ_LEN + s) * C_TEXT + c];
    }
    const wp = unpackParams(packed);
    const lambda = spectrum(wp, h, w);
    const means = renderMeans(wp, tables, h, w);
    const X = new Float64Array(per);
    const M = new Float64Array(K * per);
    for (let c = 0; c < LATENT_CHANNELS; c++) {
      const xs = Array.from({ length: plane }, (_, p) => sample[n * per + c * plane + p] * scale);
      X.set(dct2(xs, dh, dw, h, w, false), c * plane);
      for (let k = 0; k < K; k++) {
        const mk = means.subarray(
          (k * LATENT_CHANNELS + c) * plane,
          (k * LATENT_CHANNELS + c + 1) * plane,
        );
        M.set(dct2(mk, dh, dw, h, w, false), k * per + c * plane);
      }
    }
    const weight = lambda.map((l) => 1 / (l + sigma * sigma));
    // Log-responsibilities relative to component 0 (the shared |X|^2 term cancels); this form
    // keeps float32 sums small when components are alike.
    const logits = Array.from({ length: K }, (_, k) => {
      let acc = 0;
      for (let i = 0; i < per; i++) {
        const d = M[k * per + i] - M[i];
        acc += weight[i] * d * (X[i] - M[i] - 0.5 * d);
      }
      return acc;
    });
    const top = Math.max(...logits);
    const ex = logits.map((l) => Math.exp(l - top));
    const z = ex.reduce((a, v) => a + v, 0);
    for (let c = 0; c < LATENT_CHANNELS; c++) {
      const e = new Float64Array(plane);
      for (let p = 0; p < plane; p++) {
        const i = c * plane + p;
        let mbar = 0;
        for (let k = 0; k < K; k++) mbar += (ex[k] / z) * M[k * per + i];
        e[p] = sigma * weight[i] * (X[i] - mbar);
      }
      out.set(dct2(e, dh, dw, h, w, true), n * per + c * plane);
    }
  }
  return out;
}

/** Tent weight of the half-pixel bilinear x8 upsampler at kernel offset u in [0, 16). */
export const tent = (u: number) => 1 - Math.abs(u - 7.5) / 8;

/** VAE decoder: latent_sample [B,4,h,w] (already divided by the scaling factor) -> [B,3,8h,8w]. */
export function vaeDecoderRef(
  latent: Float32Array,
  dims: { b: number; h: number; w: number },
  tables: WorldTables,
): Float32Array {
  const { b, h, w } = dims;
  const H = 8 * h;
  const W = 8 * w;
  const out = new Float32Array(b * 3 * H * W);
  const at = (n: number, c: number, y: number, x: number) =>
    VAE_SCALING_FACTOR *
    latent[((n * LATENT_CHANNELS + c) * h + clip(y, 0, h - 1)) * w + clip(x, 0, w - 1)];
  for (let n = 0; n < b; n++) {
    for (let Y = 0; Y < H; Y++) {
      for (let X = 0; X < W; X++) {
        const acc = [0, 0, 0];
        // Output pixel Y takes input rows i with 0 <= Y - 8i + 4 < 16 (edge-clamped at borders).
        for (let i = Math.floor((Y - 11) / 8); i <= Math.floor((Y + 4) / 8); i++) {
          const u = Y - 8 * i + 4;
          if (u < 0 || u >= 16) continue;
          for (let j = Math.floor((X - 11) / 8); j <= Math.floor((X + 4) / 8); j++) {
            const v = X - 8 * j + 4;
            if (v < 0 || v >= 16) continue;
            const wt = tent(u) * tent(v);
            const l = [at(n, 0, i, j), at(n, 1, i, j), at(n, 2, i, j)];
            const g = at(n, 3, i, j) * tables.grain[u * 16 + v];
            for (let co = 0; co < 3; co++) {
              let s = g;
              for (let ci = 0; ci < 3; ci++) s += LATENT_TO_RGB[co][ci] * l[ci];
              acc[co] += wt * s;
            }
          }
        }
        for (let co = 0; co < 3; co++) out[((n * 3 + co) * H + Y) * W + X] = acc[co];
      }
    }
  }
  return out;
}
