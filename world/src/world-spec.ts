/**
 * The mini world's fixed dimensions and seeded constant tables, shared by the TypeScript
 * reference denoiser (reference.ts) and the ONNX graph builders, so both compute the same
 * function (docs/mini-world.md; docs/notes/mini-world-experiments.md §2).
 *
 * Everything here is a pure function of WORLD_SEED: building twice gives identical bytes.
 */
import { mulberry32Random } from "@budgetfusion/shared/random/seeded-random";

/** Text-feature channels per token (last_hidden_state width), see FEATURE below. */
export const C_LEX = 16;
/** Hash channels per token: a pseudo-random code per token id that seeds the layouts. */
export const C_HASH = 8;
/** Token-level feature width inside the text encoder (lexicon + hash). */
export const C_TOKEN = C_LEX + C_HASH;
/** Width of last_hidden_state: the packed world parameters (world-params.ts PACK, 22 used). */
export const C_TEXT = 24;
/** Mixture components per prompt (alternative layouts). */
export const K = 6;
/** Object slots per layout; the prompt's count decides how many are visible. */
export const J = 16;
/** Latent channels: luminance, red-green, yellow-blue, fine grain. */
export const LATENT_CHANNELS = 4;
/** The VAE's scaling factor: the decoder multiplies it back in, so world latents are unscaled. */
export const VAE_SCALING_FACTOR = 0.18215;
/** Frequencies are measured on a 16x16 latent grid whatever the size, so spectra scale with it. */
export const REFERENCE_GRID = 16;
const WORLD_SEED = 20241206;
/** How every world graph is serialised (opset 13 covers all the operators it uses). */
export const WORLD_ONNX = { producer: "budgetfusion-mini-world", opset: 13 } as const;

/** Index of each lexicon feature in a token's text features. */
export const FEATURE = {
  presence: 0,
  objColor: 1, // 3 channels (L, a, b), weighted by objWeight
  objWeight: 4,
  bgColor: 5, // 3 channels, weighted by bgWeight
  bgWeight: 8,
  count: 9,
  numValue: 10,
  numWeight: 11,
  texture: 12,
  fine: 13,
  smooth: 14,
  size: 15,
} as const;

/** Integer hash of a token id per channel: ((id * A + B) mod P) / P - 0.5 (exact in int32). */
export const HASH_PRIME = 65521;

export interface WorldTables {
  /** Per hash channel: multiplier A and offset B, integers below 2^15. */
  hashMul: Int32Array;
  hashAdd: Int32Array;
  /** Object position projections [C_HASH, K*J*2] and offsets [K*J*2] (y then x per slot). */
  posProj: Float32Array;
  posBias: Float32Array;
  /** Per-component background jitter [K, 3] and per-object colour jitter [K, J, 3]. */
  bgJitter: Float32Array;
  colJitter: Float32Array;
  /** Fixed zero-mean grain pattern [16, 16] the decoder modulates with latent channel 3. */
  grain: Float32Array;
}

export function worldTables(): WorldTables {
  const rand = mulberry32Random(WORLD_SEED);
  const hashMul = new Int32Array(C_HASH);
  const hashAdd = new Int32Array(C_HASH);
  for (let c = 0; c < C_HASH; c++) {
    hashMul[c] = 1000 + Math.floor(rand.next() * 30000);
    hashAdd[c] = Math.floor(rand.next() * 30000);
  }
  const posProj = rand.normals(C_HASH * K * J * 2);
  const posBias = rand.normals(K * J * 2);
  const bgJitter = rand.normals(K * 3);
  const colJitter = rand.normals(K * J * 3);
  const grainRaw = rand.normals(256);
  let mean = 0;
  for (const g of grainRaw) mean += g / 256;
  let sq = 0;
  for (const g of grainRaw) sq += (g - mean) ** 2 / 256;
  const grain = grainRaw.map((g) => (g - mean) / Math.sqrt(sq));
  return { hashMul, hashAdd, posProj, posBias, bgJitter, colJitter, grain };
}

/** Hash channel value for one token id, as the text encoder computes it in int32. */
export function tokenHash(id: number, mul: number, add: number): number {
  return (((id * mul + add) % HASH_PRIME) + HASH_PRIME) % HASH_PRIME;
}

/** sRGB-ish colour in [0,1]^3 -> latent (L, a, b) in the world's opponent space. */
export function rgbToLatent(r: number, g: number, b: number): [number, number, number] {
  const R = 2 * r - 1;
  const G = 2 * g - 1;
  const B = 2 * b - 1;
  return [(R + G + B) / 3, (R - G) / 2, ((R + G) / 2 - B) / 2];
}

/** Inverse of rgbToLatent's linear map: RGB in [-1,1] = M * (L, a, b); rows R, G, B. */
export const LATENT_TO_RGB: readonly (readonly number[])[] = [
  [1, 1, 2 / 3],
  [1, -1, 2 / 3],
  [1, 0, -4 / 3],
];

/** Pretty JSON bytes with a final newline (every config file the builder writes). */
export function json(v: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`);
}
