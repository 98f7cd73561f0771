/**
 * World v2's two image-embedding models (transformers.js layout, pixel_values [B,3,128,128] in
 * [0,1], no resize or crop): features of an average-pool pyramid of the opponent-colour image
 * (band energies per 4x4 cell and globally, coarse colour), standardised per block by the
 * committed calibration, weighted, with one constant component sqrt(beta2) so unrelated prompts
 * sit at the real models' typical similarity; L2-normalised. Numpy reference:
 * world/tools/world_v2_reference.py (features, blocks, embed).
 */
import { OnnxGraph } from "@budgetfusion/shared/onnx/onnx-graph";
import { WORLD_ONNX } from "../world-spec";
import type { WorldV2Config } from "./config";
import { ops } from "./text-graphs";

const BANDS = 6;

interface Pyramid {
  /** Band-pass images D_l [B,3,h,h], l = 0 (pixel) .. 5. */
  bands: string[];
  /** The 2x2 level [B,3,2,2]. */
  top: string;
}

function pyramid(g: OnnxGraph, pixels: string, side: number): Pyramid {
  const x = g.sub(g.mul(pixels, g.scalar(2)), g.scalar(1));
  const opp = [
    [1 / 3, 1 / 3, 1 / 3],
    [0.5, -0.5, 0],
    [0.25, 0.25, -0.5],
  ];
  const levels = [g.op("Conv", [x, g.const(opp.flat(), [3, 3, 1, 1])])];
  for (let l = 0; l < BANDS; l++)
    levels.push(g.op("AveragePool", [levels[l]], { kernel_shape: [2, 2], strides: [2, 2] }));
  const bands = Array.from({ length: BANDS }, (_, l) => {
    const h = side >> (l + 1);
    // Nearest x2 upsampling of the coarser level as Expand, exact and shape-static.
    const coarse = g.reshape(levels[l + 1], [-1, 3, h, 1, h, 1]);
    const up = g.reshape(g.op("Expand", [coarse, g.ints([1, 3, h, 2, h, 2])]), [
      -1,
      3,
      2 * h,
      2 * h,
    ]);
    return g.sub(levels[l], up);
  });
  return { bands, top: levels[BANDS] };
}

/** Luminance and chroma energy of a band: [B,1,h,h] each. */
function energies(g: OnnxGraph, band: string): { lum: string; chroma: string } {
  const sq = g.mul(band, band);
  return { lum: g.slice(sq, 1, 0, 1), chroma: g.reduceSum(g.slice(sq, 1, 1, 3), [1], 1) };
}

const cells = (g: OnnxGraph, e: string, h: number) =>
  g.reshape(
    g.op("AveragePool", [e], { kernel_shape: [h / 4, h / 4], strides: [h / 4, h / 4] }),
    [-1, 16],
  );
const global = (g: OnnxGraph, e: string) =>
  g.reshape(g.op("ReduceMean", [e], { axes: [2, 3], keepdims: 0 }), [-1, 1]);

/** Standardise, weight, prepend sqrt(beta2), normalise. */
function calibratedEmbedding(
  g: OnnxGraph,
  blocks: Record<string, string>,
  weights: Record<string, number>,
  cal: Record<string, { mean: number[]; scale: number } | number>,
): string {
  const o = ops(g);
  const parts = Object.entries(weights).map(([name, w]) => {
    const c = cal[name] as { mean: number[]; scale: number };
    return g.mul(g.sub(blocks[name], g.const(c.mean, [c.mean.length])), g.scalar(w / c.scale));
  });
  const beta = g.add(
    g.mul(o.col(parts[0], 0), g.scalar(0)),
    g.scalar(Math.sqrt(cal.beta2 as number)),
  );
  return o.unit(o.concat([beta, ...parts], 1), 0);
}

export function dreamsimVisionV2(cfg: WorldV2Config, side: number): Uint8Array {
  const g = new OnnxGraph("mini_world_v2_dreamsim");
  const px = g.input("pixel_values", "float32", ["batch", 3, side, side]);
  const { bands } = pyramid(g, px, side);
  const m = cfg.dreamsim;
  const eps = cfg.eps_base.map((e) => e * m.eps_scale);
  const tex: string[] = [];
  const ctex: string[] = [];
  bands.forEach((b, l) => {
    const e = energies(g, b);
    const h = side >> l;
    if (l >= m.bands_from) tex.push(g.op("Log", [g.add(cells(g, e.lum, h), g.scalar(eps[l]))]));
    if (l >= 2) ctex.push(g.op("Log", [g.add(cells(g, e.chroma, h), g.scalar(eps[l]))]));
  });
  const emb = calibratedEmbedding(
    g,
    { tex: g.op("Concat", tex, { axis: 1 }), ctex: g.op("Concat", ctex, { axis: 1 }) },
    m.weights,
    cfg.calibration.dreamsim,
  );
  g.output(emb, "image_embeds", "float32", ["batch", dreamsimWidth(cfg)]);
  return g.toBytes(WORLD_ONNX);
}

export function clipVisionV2(cfg: WorldV2Config, side: number): Uint8Array {
  const g = new OnnxGraph("mini_world_v2_clip_vision");
  const px = g.input("pixel_values", "float32", ["batch", 3, side, side]);
  const { bands, top } = pyramid(g, px, side);
  const m = cfg.clip;
  const eps = cfg.eps_base.map((e) => e * m.eps_scale);
  const tex: string[] = [];
  const ctex: string[] = [];
  bands.forEach((b, l) => {
    const e = energies(g, b);
    if (l >= m.bands_from) tex.push(g.op("Log", [g.add(global(g, e.lum), g.scalar(eps[l]))]));
    if (l >= 1) ctex.push(g.op("Log", [g.add(global(g, e.chroma), g.scalar(eps[l]))]));
  });
  const colour = g.op(
    "Concat",
    [g.op("ReduceMean", [top], { axes: [2, 3], keepdims: 0 }), g.reshape(top, [-1, 12])],
    { axis: 1 },
  );
  const emb = calibratedEmbedding(
    g,
    { colour, tex: g.op("Concat", tex, { axis: 1 }), ctex: g.op("Concat", ctex, { axis: 1 }) },
    m.weights,
    cfg.calibration.clip,
  );
  g.output(emb, "image_embeds", "float32", ["batch", clipImageWidth(cfg)]);
  return g.toBytes(WORLD_ONNX);
}

export const dreamsimWidth = (cfg: WorldV2Config) =>
  1 + 16 * (BANDS - cfg.dreamsim.bands_from) + 16 * (BANDS - 2);
export const clipImageWidth = (cfg: WorldV2Config) =>
  1 + 15 + (BANDS - cfg.clip.bands_from) + (BANDS - 1);
