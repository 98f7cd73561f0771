/**
 * ONNX graphs of the mini world's diffusers components (SPEC §2 layout): text_encoder
 * (input_ids int32 [B,77] -> last_hidden_state [B,77,C]), unet (sample, timestep,
 * encoder_hidden_states -> out_sample, epsilon) and vae_decoder (latent_sample -> sample).
 * Each computes exactly what reference.ts computes (the tests compare them); the comments name
 * the reference function a block mirrors. Latent size is read from the input shape, so any
 * multiple-of-8 image size works.
 */

import { OnnxGraph } from "@budgetfusion/shared/onnx/onnx-graph";
import { routeColoursGraph } from "./colour-routing";
import type { LexiconTable } from "./lexicon-table";
import { tent } from "./reference";
import { P, PACK } from "./world-params";
import { worldParamsGraph } from "./world-params-graph";
import {
  C_HASH,
  C_LEX,
  C_TEXT,
  FEATURE,
  HASH_PRIME,
  J,
  K,
  LATENT_CHANNELS,
  LATENT_TO_RGB,
  REFERENCE_GRID,
  VAE_SCALING_FACTOR,
  WORLD_ONNX,
  type WorldTables,
} from "./world-spec";

/** text_encoder/model.onnx: a lookup (reference: textEncoderRef). */
export function textEncoderGraph(lex: LexiconTable, t: WorldTables): Uint8Array {
  const g = new OnnxGraph("mini_world_text_encoder");
  const ids = g.input("input_ids", "int32", ["batch", 77]);
  const slot = g.op("Gather", [g.const(lex.slotOf, [lex.slotOf.length], "int32", "slot_of"), ids]);
  const lexFeats = g.op("Gather", [
    g.const(lex.features, [lex.slots, C_LEX], "float32", "lexicon"),
    slot,
  ]);
  const feats = routeColoursGraph(g, lexFeats);
  const presence = g.slice(feats, 2, FEATURE.presence, FEATURE.presence + 1);
  // Hash code per channel, exact in int32: ((id * A + B) mod P) / P - 0.5, zero for non-words.
  const ids3 = g.unsqueeze(ids, [2]);
  const mixed = g.add(
    g.mul(ids3, g.const(t.hashMul, [C_HASH], "int32")),
    g.const(t.hashAdd, [C_HASH], "int32"),
  );
  const mod = g.op("Mod", [mixed, g.const([HASH_PRIME], [], "int32")], { fmod: 0 });
  const unit = g.sub(g.div(g.op("Cast", [mod], { to: 1 }), g.scalar(HASH_PRIME)), g.scalar(0.5));
  const tokens = g.op("Concat", [feats, g.mul(unit, presence)], { axis: 2 });
  // Row 0 carries the packed world parameters, rows 1..76 are zero (textEncoderRef).
  const packed = worldParamsGraph(g, g.reduceSum(tokens, [1]));
  const rest = g.reduceSum(g.slice(tokens, 1, 1, 77), [2], 1);
  const zeros = g.mul(rest, g.const(new Float32Array(C_TEXT), [C_TEXT]));
  const hidden = g.op("Concat", [g.unsqueeze(packed, [1]), zeros], { axis: 1 });
  g.output(hidden, "last_hidden_state", "float32", ["batch", 77, C_TEXT]);
  g.output(packed, "pooler_output", "float32", ["batch", C_TEXT]);
  return g.toBytes(WORLD_ONNX);
}

/** sigma(t) [steps]: linear interpolation in the train schedule (reference: sigmaAt). */
export function sigmaFromTimestep(g: OnnxGraph, timestep: string, sigmas: Float32Array): string {
  const tc = g.op("Clip", [timestep, g.scalar(0), g.scalar(sigmas.length - 1)]);
  const lo = g.op("Floor", [tc]);
  const frac = g.sub(tc, lo);
  const loI = g.op("Cast", [lo], { to: 7 });
  const hiI = g.op("Min", [
    g.add(loI, g.const([1], [], "int64")),
    g.const([sigmas.length - 1], [], "int64"),
  ]);
  const table = g.const(sigmas, [sigmas.length], "float32", "sigmas");
  const sLo = g.op("Gather", [table, loI]);
  return g.add(sLo, g.mul(frac, g.sub(g.op("Gather", [table, hiI]), sLo)));
}

/** unet/model.onnx: exact posterior-mean epsilon of the prompt's mixture (reference: unetRef). */
export function unetGraph(t: WorldTables, sigmas: Float32Array): Uint8Array {
  const g = new OnnxGraph("mini_world_unet");
  const sample = g.input("sample", "float32", ["batch", LATENT_CHANNELS, "height", "width"]);
  const timestep = g.input("timestep", "float32", ["steps"]);
  const ehs = g.input("encoder_hidden_states", "float32", ["batch", 77, C_TEXT]);
  const s = (v: number) => g.scalar(v);
  const one = s(1);

  const sigma = g.reshape(sigmaFromTimestep(g, timestep, sigmas), [-1, 1, 1, 1]);
  const sigma2 = g.mul(sigma, sigma);
  const x = g.mul(sample, g.op("Sqrt", [g.add(sigma2, one)]));

  // World parameters packed by the text encoder (unpackParams, with its guards).
  const S = g.reduceSum(ehs, [1]);
  const col = (i: number) => g.slice(S, 1, i, i + 1);
  const cols = (i: number, n: number) => g.slice(S, 1, i, i + n);
  const neg = (a: string) => g.op("Neg", [a]);
  const exp = (a: string) => g.op("Exp", [a]);
  const clip = (a: string, lo2: number, hi2: number) => g.op("Clip", [a, s(lo2), s(hi2)]);
  const spec = clip(col(PACK.spec), 0, 1);
  const bg = cols(PACK.bg, 3);
  const obj = cols(PACK.obj, 3);
  const count = clip(col(PACK.count), 0, J);
  const alpha = clip(col(PACK.alpha), P.alphaMin, P.alphaMax);
  const radius = g.op("Relu", [col(PACK.radius)]);
  const hash = cols(PACK.hash, C_HASH);

  // Grids from the latent size: index ramps, DCT matrices (dctMatrix), frequency radius.
  const shape = g.op("Shape", [sample]);
  const dimF = (axis: number) =>
    g.op("Cast", [g.op("Gather", [shape, g.const([axis], [], "int64")])], { to: 1 });
  const hF = dimF(2);
  const wF = dimF(3);
  const ramp = (n: string) => g.op("Range", [s(0), n, one]);
  const ry = ramp(hF);
  const rx = ramp(wF);
  const dct = (r: string, n: string) => {
    const k = g.unsqueeze(r, [1]);
    const i = g.unsqueeze(r, [0]);
    const arg = g.div(g.mul(g.mul(g.add(i, s(0.5)), k), s(Math.PI)), n);
    const scale = g.mul(
      g.op("Sqrt", [g.div(one, n)]),
      g.add(one, g.mul(s(Math.SQRT2 - 1), g.op("Min", [k, one]))),
    );
    return g.mul(scale, g.op("Cos", [arg]));
  };
  const dh = dct(ry, hF);
  const dw = dct(rx, wF);
  const dhT = g.op("Transpose", [dh], { perm: [1, 0] });
  const dwT = g.op("Transpose", [dw], { perm: [1, 0] });
  const fy = g.unsqueeze(g.div(ry, hF), [1]);
  const fx = g.unsqueeze(g.div(rx, wF), [0]);
  const f = g.mul(s(REFERENCE_GRID), g.op("Sqrt", [g.add(g.mul(fy, fy), g.mul(fx, fx))]));
  const lf = g.op("Log", [g.add(one, f)]);

  // Spectrum lambda [B,4,h,w] (spectrum).
  const amp = g.reshape(g.op("Relu", [cols(PACK.amp, LATENT_CHANNELS)]), [
    -1,
    LATENT_CHANNELS,
    1,
    1,
  ]);
  const texShape = exp(g.mul(g.reshape(neg(alpha), [-1, 1, 1, 1]), lf));
  const broadShape = g.mul(
    g.const(P.broad, [LATENT_CHANNELS, 1, 1]),
    exp(
      g.mul(
        g.const(
          P.broadAlpha.map((a) => -a),
          [LATENT_CHANNELS, 1, 1],
        ),
        lf,
      ),
    ),
  );
  const lambda = g.add(
    g.add(g.mul(amp, texShape), g.mul(g.reshape(g.sub(one, spec), [-1, 1, 1, 1]), broadShape)),
    s(P.lambdaFloor),
  );

  // Mixture means [B,K,4,h,w] (renderMeans).
  const posZ = g.add(
    g.matmul(g.mul(hash, s(P.posGain)), g.const(t.posProj, [C_HASH, K * J * 2])),
    g.const(t.posBias, [K * J * 2]),
  );
  const pos = g.reshape(g.add(s(0.1), g.mul(s(0.8), g.op("Sigmoid", [posZ]))), [-1, K, J, 2]);
  const posY = g.unsqueeze(g.slice(pos, 3, 0, 1), [4]);
  const posX = g.unsqueeze(g.slice(pos, 3, 1, 2), [4]);
  const gy = g.unsqueeze(g.div(g.add(ry, s(0.5)), hF), [1]);
  const gx = g.unsqueeze(g.div(g.add(rx, s(0.5)), wF), [0]);
  const dy = g.sub(gy, posY);
  const dx = g.sub(gx, posX);
  const dist = g.op("Sqrt", [g.add(g.mul(dy, dy), g.mul(dx, dx))]);
  const slots = g.const(
    Array.from({ length: J }, (_, j) => j + 0.5),
    [J],
  );
  const vis = g.reshape(g.op("Sigmoid", [g.mul(s(P.visGain), g.sub(count, slots))]), [
    -1,
    1,
    J,
    1,
    1,
  ]);
  const edge = g.op("Sigmoid", [
    g.div(g.sub(g.reshape(radius, [-1, 1, 1, 1, 1]), dist), s(P.edge)),
  ]);
  const mask = g.mul(vis, edge);
  const colours = g.add(
    g.reshape(obj, [-1, 1, 1, 3]),
    g.const(
      t.colJitter.map((v) => v * P.colJitter),
      [K, J, 3],
    ),
  );
  // Colour sums over objects as one batched MatMul: [B,K,3,J] x [B,K,J,h*w] -> [B,K,3,h,w].
  const maskFlat = g.reshape(mask, [0, 0, 0, -1]);
  const accFlat = g.matmul(g.op("Transpose", [colours], { perm: [0, 1, 3, 2] }), maskFlat);
  const accShape = g.op(
    "Concat",
    [g.slice(g.op("Shape", [mask]), 0, 0, 2), g.ints([3]), g.slice(shape, 0, 2, 4)],
    { axis: 0 },
  );
  const acc = g.op("Reshape", [accFlat, accShape]);
  const bgk = g.unsqueeze(
    g.add(
      g.reshape(bg, [-1, 1, 3]),
      g.const(
        t.bgJitter.map((v) => v * P.bgJitter),
        [K, 3],
      ),
    ),
    [3, 4],
  );
  const tot = g.unsqueeze(g.reduceSum(mask, [2]), [2]);
  const m3 = g.add(bgk, g.div(g.sub(acc, g.mul(tot, bgk)), g.op("Max", [tot, one])));
  const means = g.op("Concat", [m3, g.mul(g.slice(m3, 2, 0, 1), s(0))], { axis: 2 });

  // Closed-form posterior (unetRef): responsibilities in the DCT domain, then epsilon.
  const X = g.matmul(g.matmul(dh, x), dwT);
  const M = g.matmul(g.matmul(dh, means), dwT);
  const weight = g.op("Reciprocal", [g.add(lambda, sigma2)]);
  const M0 = g.slice(M, 1, 0, 1);
  const delta = g.sub(M, M0);
  const resid = g.sub(g.unsqueeze(X, [1]), M0);
  const term = g.mul(g.mul(g.unsqueeze(weight, [1]), delta), g.sub(resid, g.mul(s(0.5), delta)));
  const logits = g.reduceSum(term, [2, 3, 4]);
  const resp = g.reshape(g.op("Softmax", [logits], { axis: 1 }), [-1, K, 1, 1, 1]);
  const mbar = g.reduceSum(g.mul(resp, M), [1]);
  const E = g.mul(g.mul(sigma, weight), g.sub(X, mbar));
  const eps = g.matmul(g.matmul(dhT, E), dw);
  g.output(eps, "out_sample", "float32", ["batch", LATENT_CHANNELS, "height", "width"]);
  return g.toBytes(WORLD_ONNX);
}

/** vae_decoder/model.onnx: fixed linear x8 upsampler with a grain channel (vaeDecoderRef). */
export function vaeDecoderGraph(t: WorldTables): Uint8Array {
  const g = new OnnxGraph("mini_world_vae_decoder");
  const latent = g.input("latent_sample", "float32", ["batch", LATENT_CHANNELS, "height", "width"]);
  const z = g.mul(latent, g.scalar(VAE_SCALING_FACTOR));
  const padded = g.op("Pad", [z, g.ints([0, 0, 1, 1, 0, 0, 1, 1])], { mode: "edge" });
  const weights = new Float32Array(LATENT_CHANNELS * 3 * 256);
  for (let ci = 0; ci < LATENT_CHANNELS; ci++) {
    for (let co = 0; co < 3; co++) {
      for (let u = 0; u < 16; u++) {
        for (let v = 0; v < 16; v++) {
          const base = ci < 3 ? LATENT_TO_RGB[co][ci] : t.grain[u * 16 + v];
          weights[((ci * 3 + co) * 16 + u) * 16 + v] = base * tent(u) * tent(v);
        }
      }
    }
  }
  const up = g.op("ConvTranspose", [padded, g.const(weights, [LATENT_CHANNELS, 3, 16, 16])], {
    kernel_shape: [16, 16],
    strides: [8, 8],
    pads: [4, 4, 4, 4],
  });
  const image = g.op("Slice", [up, g.ints([8, 8]), g.ints([-8, -8]), g.ints([2, 3])]);
  g.output(image, "sample", "float32", ["batch", 3, "image_height", "image_width"]);
  return g.toBytes(WORLD_ONNX);
}
