/**
 * World v2's UNet and VAE decoder as ONNX graphs (diffusers ONNX layout, SPEC §2). Both take
 * 16x16 latents only: the wavelet basis is 256x256, so the inputs are declared with fixed
 * spatial dims and onnxruntime refuses any other size naming the input (docs/world-v2.md).
 * Numpy reference: world/tools/world_v2_reference.py (denoise, decode).
 */
import { OnnxGraph } from "@budgetfusion/shared/onnx/onnx-graph";
import { sigmaFromTimestep } from "../diffusion-graphs";
import { VAE_SCALING_FACTOR, WORLD_ONNX } from "../world-spec";
import type { WorldV2Config } from "./config";
import { pixelTexture, upsampleMatrix } from "./tables";
import { hiddenWidth } from "./text-graphs";
import { levelFilter, transpose, type WaveletBasis } from "./wavelet";

const LATENT_TO_RGB = [
  [1, 1, 2 / 3],
  [1, -1, 2 / 3],
  [1, 0, -4 / 3],
];

/** unet/model.onnx: the exact posterior-mean epsilon of the K-component mixture in last_hidden_state. */
export function unetV2(cfg: WorldV2Config, basis: WaveletBasis, sigmas: Float32Array): Uint8Array {
  const g = new OnnxGraph("mini_world_v2_unet");
  const n = basis.n;
  const NP = n * n;
  const K = cfg.mixture.K;
  const H = hiddenWidth(cfg);
  const sample = g.input("sample", "float32", ["batch", 4, n, n]);
  const timestep = g.input("timestep", "float32", ["steps"]);
  const ehs = g.input("encoder_hidden_states", "float32", ["batch", 77, H]);
  const sigma = g.reshape(sigmaFromTimestep(g, timestep, sigmas), [-1, 1, 1]);
  const sigma2 = g.mul(sigma, sigma);
  const x = g.mul(g.reshape(sample, [-1, 4, NP]), g.op("Sqrt", [g.add(sigma2, g.scalar(1))]));
  const X = g.matmul(x, g.const(Float32Array.from(transpose(basis.matrix, NP)), [NP, NP]));
  const used = 2 * K * 4 * NP;
  const mix = g.reshape(g.slice(g.reshape(ehs, [-1, 77 * H]), 1, 0, used), [-1, 2, K, 4, NP]);
  const M = g.reshape(g.slice(mix, 1, 0, 1), [-1, K, 4, NP]);
  const lam = g.reshape(g.slice(mix, 1, 1, 2), [-1, K, 4, NP]);
  const w = g.op("Reciprocal", [g.add(lam, g.unsqueeze(sigma2, [1]))]);
  const d = g.sub(g.unsqueeze(X, [1]), M);
  // -2 log-likelihood per coefficient; differences to component 0 before the sum keep float32 exact enough.
  const term = g.sub(g.mul(g.mul(d, d), w), g.op("Log", [w]));
  const rel = g.sub(term, g.slice(term, 1, 0, 1));
  const logits = g.mul(g.reduceSum(rel, [2, 3]), g.scalar(-0.5));
  const resp = g.reshape(g.op("Softmax", [logits], { axis: 1 }), [-1, K, 1, 1]);
  const post = g.add(M, g.mul(g.mul(lam, w), d));
  const D = g.reduceSum(g.mul(resp, post), [1]);
  const epsCoef = g.div(g.sub(X, D), sigma);
  const eps = g.reshape(g.matmul(epsCoef, g.const(Float32Array.from(basis.matrix), [NP, NP])), [
    -1,
    4,
    n,
    n,
  ]);
  g.output(eps, "out_sample", "float32", ["batch", 4, n, n]);
  return g.toBytes(WORLD_ONNX);
}

/** vae_decoder/model.onnx: per-level gains, bilinear x8, soft-limited band-pass pixel detail from channel d. */
export function vaeDecoderV2(cfg: WorldV2Config, basis: WaveletBasis): Uint8Array {
  const g = new OnnxGraph("mini_world_v2_vae_decoder");
  const n = basis.n;
  const NP = n * n;
  const side = 8 * n;
  const dec = cfg.decoder;
  const latent = g.input("latent_sample", "float32", ["batch", 4, n, n]);
  const z = g.reshape(g.mul(latent, g.scalar(VAE_SCALING_FACTOR)), [-1, 4, NP]);
  const gainOf = (l: number) => (l === 1 ? dec.gl1 : l === 2 ? dec.gl2 : 1);
  const filterT = (f: (l: number) => number) =>
    g.const(Float32Array.from(transpose(levelFilter(basis, f), NP)), [NP, NP]);
  const lab = g.reshape(g.matmul(g.slice(z, 1, 0, 3), filterT(gainOf)), [-1, 3, n, n]);
  const rgb = g.op("Conv", [lab, g.const(LATENT_TO_RGB.flat(), [3, 3, 1, 1])]);
  const U = upsampleMatrix(n);
  const Ut = new Float32Array(n * side);
  for (let o = 0; o < side; o++) for (let i = 0; i < n; i++) Ut[i * side + o] = U[o * n + i];
  const up = (x: string) => g.matmul(g.matmul(g.const(U, [side, n]), x), g.const(Ut, [n, side]));
  const detail = g.reshape(
    g.matmul(
      g.slice(z, 1, 3, 4),
      filterT((l) => (l <= 2 ? dec.g_fine_d : 1)),
    ),
    [-1, 1, n, n],
  );
  const A = g.scalar(dec.soft_limit);
  const textured = g.mul(
    g.mul(up(detail), g.const(pixelTexture(cfg, side), [side, side])),
    g.scalar(dec.gain),
  );
  const limited = g.mul(g.op("Tanh", [g.div(textured, A)]), A);
  g.output(g.add(up(rgb), limited), "sample", "float32", ["batch", 3, side, side]);
  return g.toBytes(WORLD_ONNX);
}
