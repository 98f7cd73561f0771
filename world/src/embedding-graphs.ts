/**
 * Embedding models meaningful in the mini world, behind the CLIP / DreamSim ONNX interfaces
 * (SPEC §3-4; transformers.js layout of fixtures/tiny-clip):
 * - "CLIP" text model: input_ids, attention_mask int64 [B,L] -> text_embeds [B,E]: the prompt's
 *   world attributes (background and object colours, texture, fine grain; not object count or
 *   size) plus a hashed bag of keywords.
 * - "CLIP" vision model: pixel_values [B,3,224,224] -> image_embeds [B,E]: the same attributes
 *   estimated from pixels, a 4x4 colour layout and coarse texture energies (semantic level).
 * - "DreamSim" vision model: 8x8 colour layout, local contrast and edge energy maps at two scales
 *   (mid level: more sensitive to structure and texture than the CLIP-like one).
 * Features go through a fixed random orthogonal map (cosines are unchanged by it; it only hides
 * the feature layout, as a learned projection would) and are L2-normalised.
 */

import { OnnxGraph } from "@budgetfusion/shared/onnx/onnx-graph";
import { mulberry32Random } from "@budgetfusion/shared/random/seeded-random";
import { routeColoursGraph } from "./colour-routing";
import type { LexiconTable } from "./lexicon-table";
import { P } from "./world-params";
import { C_LEX, FEATURE, WORLD_ONNX } from "./world-spec";

export const CLIP_EMBED_DIM = 64;
export const DREAMSIM_EMBED_DIM = 224;
/** Feature blocks of the CLIP-like embedding: shared attributes, image layout, text keywords. */
const ATTR = 8;
const LAYOUT = 48;
const KEYWORDS = 8;
const CLIP_FEATURES = ATTR + LAYOUT + KEYWORDS;
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/** A fixed random orthogonal matrix [n, n] (Gram-Schmidt on seeded normals), row-major. */
function orthogonal(n: number, seed: number): Float32Array {
  const a = Array.from({ length: n }, (_, i) => Array.from(mulberry32Random(seed + i).normals(n)));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const d = a[i].reduce((s, v, k) => s + v * a[j][k], 0);
      for (let k = 0; k < n; k++) a[i][k] -= d * a[j][k];
    }
    const norm = Math.sqrt(a[i].reduce((s, v) => s + v * v, 0));
    for (let k = 0; k < n; k++) a[i][k] /= norm;
  }
  return Float32Array.from(a.flat());
}

/** Zeros [B, n] with the batch size of `like` [B, m]. */
function zerosLike(g: OnnxGraph, like: string, n: number): string {
  return g.mul(g.reduceSum(like, [1], 1), g.const(new Float32Array(n), [1, n]));
}

function projectNormalize(g: OnnxGraph, feats: string, n: number, seed: number): string {
  const proj = g.matmul(feats, g.const(orthogonal(n, seed), [n, n]));
  const norm = g.op("Sqrt", [g.add(g.reduceSum(g.mul(proj, proj), [1], 1), g.scalar(1e-12))]);
  return g.div(proj, norm);
}

/** onnx/text_model.onnx of the CLIP-like model. */
export function clipTextGraph(lex: LexiconTable): Uint8Array {
  const g = new OnnxGraph("mini_world_clip_text");
  const ids = g.input("input_ids", "int64", ["batch", "sequence"]);
  const mask = g.input("attention_mask", "int64", ["batch", "sequence"]);
  const ids32 = g.op("Cast", [ids], { to: 6 });
  const slot = g.op("Gather", [g.const(lex.slotOf, [lex.slotOf.length], "int32"), ids32]);
  const keep = g.unsqueeze(g.op("Cast", [mask], { to: 1 }), [2]);
  const feats = g.mul(
    routeColoursGraph(g, g.op("Gather", [g.const(lex.features, [lex.slots, C_LEX]), slot])),
    keep,
  );
  const S = g.reduceSum(feats, [1]);
  const col = (i: number) => g.slice(S, 1, i, i + 1);
  const cols = (i: number, n: number) => g.slice(S, 1, i, i + n);
  const one = g.scalar(1);
  const sat = (a: string) => g.sub(one, g.op("Exp", [g.op("Neg", [a])]));
  const F = FEATURE;
  // Attributes, as the image side estimates them: background colour, object colour (the
  // background's when there are no objects), texture, fine grain.
  const bg = g.div(
    g.add(
      cols(F.bgColor, 3),
      g.const(
        P.neutralBg.map((v) => v * P.bgPrior),
        [3],
      ),
    ),
    g.add(col(F.bgWeight), g.scalar(P.bgPrior)),
  );
  const hasObj = g.op("Min", [g.add(col(F.count), col(F.numValue)), one]);
  const objCol = g.div(cols(F.objColor, 3), g.add(col(F.objWeight), g.scalar(P.objPrior)));
  const obj = g.add(g.mul(hasObj, objCol), g.mul(g.sub(one, hasObj), bg));
  const attrs = g.op("Concat", [bg, obj, sat(col(F.texture)), sat(col(F.fine))], { axis: 1 });
  // Hashed bag of keywords: lexicon slots (>= 2) hashed into KEYWORDS signed buckets.
  const bucket = new Float32Array(lex.slots * KEYWORDS);
  for (let sl = 2; sl < lex.slots; sl++)
    bucket[sl * KEYWORDS + (((sl * 2654435761) >>> 0) % KEYWORDS)] =
      (sl * 40503) % 2 === 0 ? 1 : -1;
  const bag = g.reduceSum(
    g.mul(g.op("Gather", [g.const(bucket, [lex.slots, KEYWORDS]), slot]), keep),
    [1],
  );
  const zeros = zerosLike(g, bg, LAYOUT);
  const feats2 = g.op("Concat", [g.mul(attrs, g.scalar(2)), zeros, g.mul(bag, g.scalar(0.5))], {
    axis: 1,
  });
  g.output(projectNormalize(g, feats2, CLIP_FEATURES, 7001), "text_embeds", "float32", [
    "batch",
    CLIP_EMBED_DIM,
  ]);
  return g.toBytes(WORLD_ONNX);
}

/** pixel_values -> latent-space colours (L, a, b) in [-1,1] units, [B,3,224,224]. */
function pixelsToLab(
  g: OnnxGraph,
  pixels: string,
  mean: readonly number[],
  std: readonly number[],
): string {
  const rgb01 = g.add(g.mul(pixels, g.const(std, [1, 3, 1, 1])), g.const(mean, [1, 3, 1, 1]));
  const rgb = g.sub(g.mul(rgb01, g.scalar(2)), g.scalar(1));
  // rgbToLatent's matrix as a 1x1 convolution.
  const m = [
    [1 / 3, 1 / 3, 1 / 3],
    [0.5, -0.5, 0],
    [0.25, 0.25, -0.5],
  ];
  return g.op("Conv", [rgb, g.const(m.flat(), [3, 3, 1, 1])]);
}

/** log(mean detail energy) of luminance over cells: detail = lum - box blur (k x k). */
function detailEnergy(g: OnnxGraph, lum: string, k: number, cell: number): string {
  const pad = (k - 1) / 2;
  const blur = g.op("AveragePool", [lum], {
    kernel_shape: [k, k],
    strides: [1, 1],
    pads: [pad, pad, pad, pad],
    count_include_pad: 0,
  });
  const d = g.sub(lum, blur);
  const e = g.op("AveragePool", [g.mul(d, d)], {
    kernel_shape: [cell, cell],
    strides: [cell, cell],
  });
  return g.op("Log", [g.add(e, g.scalar(1e-4))]);
}

/** onnx/vision_model.onnx of the CLIP-like model. */
export function clipVisionGraph(): Uint8Array {
  const g = new OnnxGraph("mini_world_clip_vision");
  const px = g.input("pixel_values", "float32", ["batch", 3, 224, 224]);
  const lab = pixelsToLab(g, px, CLIP_MEAN, CLIP_STD);
  const grid8 = g.op("AveragePool", [lab], { kernel_shape: [28, 28], strides: [28, 28] });
  const grid4 = g.op("AveragePool", [grid8], { kernel_shape: [2, 2], strides: [2, 2] });
  // Background: mean colour of the 28 border cells of the 8x8 grid.
  const all = g.reduceSum(grid8, [2, 3]);
  const inner = g.reduceSum(
    g.op("Slice", [grid8, g.ints([1, 1]), g.ints([7, 7]), g.ints([2, 3])]),
    [2, 3],
  );
  const bg = g.div(g.sub(all, inner), g.scalar(28));
  // Object colour: cells weighted by their squared distance from the background colour.
  const diff = g.sub(grid8, g.unsqueeze(bg, [2, 3]));
  const wgt = g.reduceSum(g.mul(diff, diff), [1], 1);
  const obj = g.div(
    g.reduceSum(g.mul(grid8, wgt), [2, 3]),
    g.add(g.reduceSum(wgt, [2, 3]), g.scalar(1e-3)),
  );
  const objOrBg = g.add(
    obj,
    g.mul(bg, g.div(g.scalar(1e-3), g.add(g.reduceSum(wgt, [2, 3]), g.scalar(1e-3)))),
  );
  const lum = g.slice(lab, 1, 0, 1);
  const coarse = g.reduceSum(detailEnergy(g, lum, 15, 224), [2, 3]);
  const fineE = g.reduceSum(detailEnergy(g, lum, 3, 224), [2, 3]);
  // Energies mapped to roughly [0,1] like the text side's saturating texture and fine values.
  const texture = g.op("Sigmoid", [g.mul(g.add(coarse, g.scalar(5)), g.scalar(1.2))]);
  const fine = g.op("Sigmoid", [g.mul(g.add(fineE, g.scalar(6)), g.scalar(1.2))]);
  const attrs = g.op("Concat", [bg, objOrBg, texture, fine], { axis: 1 });
  const layout = g.reshape(grid4, [-1, LAYOUT]);
  const zeros = zerosLike(g, bg, KEYWORDS);
  const feats = g.op("Concat", [g.mul(attrs, g.scalar(2)), layout, zeros], { axis: 1 });
  g.output(projectNormalize(g, feats, CLIP_FEATURES, 7001), "image_embeds", "float32", [
    "batch",
    CLIP_EMBED_DIM,
  ]);
  return g.toBytes(WORLD_ONNX);
}

/** onnx/vision_model.onnx of the DreamSim-like model (pixel_values in [0,1]: no normalisation). */
export function dreamsimVisionGraph(): Uint8Array {
  const g = new OnnxGraph("mini_world_dreamsim");
  const px = g.input("pixel_values", "float32", ["batch", 3, 224, 224]);
  const lab = pixelsToLab(g, px, [0, 0, 0], [1, 1, 1]);
  const grid8 = g.reshape(
    g.op("AveragePool", [lab], { kernel_shape: [28, 28], strides: [28, 28] }),
    [-1, 192],
  );
  const lum = g.slice(lab, 1, 0, 1);
  // Local contrast and edge energy maps (log, centred): 4x4 cells at a fine and a mid scale.
  const fineMap = g.reshape(g.add(detailEnergy(g, lum, 3, 56), g.scalar(6)), [-1, 16]);
  const midMap = g.reshape(g.add(detailEnergy(g, lum, 9, 56), g.scalar(5)), [-1, 16]);
  const feats = g.op(
    "Concat",
    [grid8, g.mul(fineMap, g.scalar(0.4)), g.mul(midMap, g.scalar(0.4))],
    { axis: 1 },
  );
  const n = 192 + 32;
  g.output(projectNormalize(g, feats, n, 9001), "image_embeds", "float32", [
    "batch",
    DREAMSIM_EMBED_DIM,
  ]);
  return g.toBytes(WORLD_ONNX);
}
