/**
 * The prompt -> world-parameter map of the mini world (docs/mini-world.md §2): pooled token
 * features (sum over the sequence) -> background and object colours, object count, spectrum
 * amplitude and roughness, object size, layout hash. The text encoder computes it once per prompt
 * and packs it into its output; the UNet unpacks it (with range guards, so arbitrary hidden states
 * still give a valid world).
 */
import { C_HASH, C_LEX, C_TEXT, FEATURE, J, rgbToLatent } from "./world-spec";

/** Constants of the prompt -> world-parameter map (the graph uses the same ones). */
export const P = {
  specGain: 3,
  objPrior: 0.05,
  bgPrior: 0.15,
  neutralBg: rgbToLatent(0.62, 0.62, 0.6),
  texBase: 0.003,
  texGain: 0.45,
  alphaBase: 3.0,
  alphaTex: 1.5,
  alphaFine: 0.7,
  alphaSmooth: 0.5,
  alphaMin: 0.6,
  alphaMax: 4,
  chromaRatio: 0.3,
  grainBase: 0.001,
  grainGain: 0.25,
  radiusBase: 0.15,
  radiusCount: 0.3,
  sizeGain: 0.3,
  posGain: 0.6,
  visGain: 8,
  edge: 0.025,
  bgJitter: 0.025,
  colJitter: 0.1,
  /** Broad prior of the empty prompt: lambda = A (1 + f)^-2 per channel. */
  broad: [16, 4.8, 4.8, 0.5],
  /** Exponent of the broad prior per channel (the grain channel is nearly white). */
  broadAlpha: [2, 2, 2, 1],
  lambdaFloor: 1e-4,
} as const;

export interface WorldParams {
  spec: number;
  obj: number[];
  bg: number[];
  count: number;
  /** Spectrum amplitude per latent channel and the roughness exponent. */
  amp: number[];
  alpha: number;
  radius: number;
  hash: number[];
}

const clip = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

/** Pooled text features (sum over the 77 tokens) -> world parameters. */
export function worldParams(s: ArrayLike<number>): WorldParams {
  const F = FEATURE;
  const spec = 1 - Math.exp(-P.specGain * s[F.presence]);
  const obj = [0, 1, 2].map((i) => s[F.objColor + i] / (s[F.objWeight] + P.objPrior));
  const wNum = Math.min(s[F.numWeight], 1);
  const count = clip(wNum * s[F.numValue] + (1 - wNum) * s[F.count], 0, J);
  // With no objects, colour words colour the scene ("a white wall").
  const free = Math.max(0, 1 - count);
  const bg = [0, 1, 2].map(
    (i) =>
      (s[F.bgColor + i] + P.bgPrior * P.neutralBg[i] + free * s[F.objColor + i]) /
      (s[F.bgWeight] + P.bgPrior + free * s[F.objWeight]),
  );
  const tex = 1 - Math.exp(-s[F.texture]);
  const fine = 1 - Math.exp(-s[F.fine]);
  const smooth = Math.exp(-s[F.smooth]);
  const aL = (P.texBase + P.texGain * tex) * smooth;
  const alpha = clip(
    P.alphaBase - P.alphaTex * tex - P.alphaFine * fine + P.alphaSmooth * (1 - smooth),
    P.alphaMin,
    P.alphaMax,
  );
  const aGrain = (P.grainBase + P.grainGain * fine * (0.3 + 0.7 * tex)) * smooth;
  const sizeF = Math.exp(P.sizeGain * clip(s[F.size], -2, 2));
  const radius = (P.radiusBase * sizeF) / Math.sqrt(1 + P.radiusCount * count);
  const hash = Array.from({ length: C_HASH }, (_, c) => s[C_LEX + c]);
  return {
    spec,
    obj,
    bg,
    count,
    amp: [aL, P.chromaRatio * aL, P.chromaRatio * aL, aGrain],
    alpha,
    radius,
    hash,
  };
}

/** Packed layout of the world parameters in the text encoder's output (row 0, C_TEXT channels). */
export const PACK = {
  spec: 0,
  bg: 1,
  obj: 4,
  count: 7,
  amp: 8,
  alpha: 12,
  radius: 13,
  hash: 14,
} as const;

export function packParams(wp: WorldParams): Float32Array {
  const v = new Float32Array(C_TEXT);
  v[PACK.spec] = wp.spec;
  v.set(wp.bg, PACK.bg);
  v.set(wp.obj, PACK.obj);
  v[PACK.count] = wp.count;
  v.set(wp.amp, PACK.amp);
  v[PACK.alpha] = wp.alpha;
  v[PACK.radius] = wp.radius;
  v.set(wp.hash, PACK.hash);
  return v;
}

/** Inverse of packParams with the UNet's guards: spec in [0,1], amp/radius >= 0, count/alpha clipped. */
export function unpackParams(v: ArrayLike<number>): WorldParams {
  const at = (i: number, n: number) => Array.from({ length: n }, (_, k) => v[i + k]);
  return {
    spec: clip(v[PACK.spec], 0, 1),
    bg: at(PACK.bg, 3),
    obj: at(PACK.obj, 3),
    count: clip(v[PACK.count], 0, J),
    amp: at(PACK.amp, 4).map((a) => Math.max(a, 0)),
    alpha: clip(v[PACK.alpha], P.alphaMin, P.alphaMax),
    radius: Math.max(v[PACK.radius], 0),
    hash: at(PACK.hash, C_HASH),
  };
}
