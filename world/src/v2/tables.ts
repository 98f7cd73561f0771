/**
 * World v2's seeded constant tables, drawn with the shared seeded normals (MT19937, so the numpy
 * reference world/tools/world_v2_reference.py draws the same values): token-hash multipliers, the
 * layout code table that turns a prompt's hash into disc positions, radii and colour noise, the
 * decoder's band-pass pixel texture and its x8 bilinear upsampler.
 */
import { seededStandardNormal } from "@budgetfusion/shared/random/seeded-random";
import type { WorldV2Config } from "./config";

/** The seed of table `index` (1 hash, 2 layout, 3 texture). */
const tableSeed = (cfg: WorldV2Config, index: number) => (cfg.seed + 7919 * index) % 2 ** 32;

export interface HashConstants {
  mul: Int32Array;
  add: Int32Array;
}

/** Per channel ((id * mul + add) mod P) / P - 0.5: channels [0, hash_channels) lay out, the rest feed p-bar. */
export function hashConstants(cfg: WorldV2Config): HashConstants {
  const n = cfg.text.hash_channels + cfg.text.clip_hash_dims;
  const raw = seededStandardNormal(tableSeed(cfg, 1), 2 * n);
  const ints = Int32Array.from(raw, (v) => (Math.floor(Math.abs(v) * 1e4) % 30000) + 1000);
  return { mul: ints.slice(0, n), add: ints.slice(n) };
}

/** Values per disc slot in the layout code: y, x, radius jitter, colourful noise (3), colour noise (3). */
export const SLOT_CODES = 9;

/** [hash_channels, K * (J * SLOT_CODES + 3) + 2]: the last three per component jitter the background, the final two pick the lighting direction. */
export function layoutTable(cfg: WorldV2Config): { data: Float32Array; cols: number } {
  const { K, J } = cfg.mixture;
  const cols = K * (J * SLOT_CODES + 3) + 2;
  return { data: seededStandardNormal(tableSeed(cfg, 2), cfg.text.hash_channels * cols), cols };
}

/** scipy.ndimage.gaussian_filter(x, sigma, mode="wrap") on a square plane (truncate 4). */
function gaussWrap(x: Float64Array, n: number, sigma: number): Float64Array {
  const rad = Math.floor(4 * sigma + 0.5);
  const k = Array.from({ length: 2 * rad + 1 }, (_, i) =>
    Math.exp(-0.5 * ((i - rad) / sigma) ** 2),
  );
  const ks = k.reduce((a, v) => a + v, 0);
  const w = k.map((v) => v / ks);
  let cur = x;
  for (const axis of [0, 1]) {
    const next = new Float64Array(n * n);
    for (let r = 0; r < n; r++)
      for (let c = 0; c < n; c++) {
        let s = 0;
        for (let o = -rad; o <= rad; o++) {
          const rr = axis === 0 ? (((r + o) % n) + n) % n : r;
          const cc = axis === 1 ? (((c + o) % n) + n) % n : c;
          s += w[o + rad] * cur[rr * n + cc];
        }
        next[r * n + c] = s;
      }
    cur = next;
  }
  return cur;
}

/** The decoder's pixel texture [128, 128]: band-pass seeded noise (blur lo - blur hi, wrap), unit std. */
export function pixelTexture(cfg: WorldV2Config, side: number): Float32Array {
  const noise = Float64Array.from(seededStandardNormal(tableSeed(cfg, 3), side * side));
  const lo = gaussWrap(noise, side, cfg.decoder.texture_sigma_lo);
  const hi = gaussWrap(noise, side, cfg.decoder.texture_sigma_hi);
  const t = lo.map((v, i) => v - hi[i]);
  const mean = t.reduce((a, v) => a + v, 0) / t.length;
  const sd = Math.sqrt(t.reduce((a, v) => a + (v - mean) ** 2, 0) / t.length);
  return Float32Array.from(t, (v) => v / sd);
}

/** Bilinear x8 upsampling with half-pixel centres and edge clamp, as a matrix [8n, n]. */
export function upsampleMatrix(n: number): Float32Array {
  const u = new Float32Array(8 * n * n);
  for (let o = 0; o < 8 * n; o++) {
    const c = (o + 0.5) / 8 - 0.5;
    const i0 = Math.min(Math.max(Math.floor(c), 0), n - 1);
    const i1 = Math.min(i0 + 1, n - 1);
    const w1 = c < 0 ? 0 : Math.min(c - Math.floor(c), 1);
    u[o * n + i0] += 1 - w1;
    u[o * n + i1] += w1;
  }
  return u;
}
