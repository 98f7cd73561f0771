/**
 * World v2's text side as ONNX graphs over CLIP BPE token ids (docs/world-v2.md §2):
 * - the SD text encoder (mini-world-v2/text_encoder): token features -> world parameters -> the
 *   prompt's mixture (means and variances in wavelet coefficients), written into
 *   last_hidden_state so the UNet only has to denoise; pooler_output carries the 17 parameters;
 * - the CLIP text model (mini-world-v2-clip/onnx/text_model.onnx): p-bar = normalise([sqrt(g2),
 *   sqrt(a2) Pz, sqrt(b2) Hw]) with Pz the standardised parameters and Hw a hashed bag of the
 *   content tokens.
 * Rendering once per prompt in the text encoder keeps the per-step UNet a few MatMuls.
 * The numpy reference of every block is world/tools/world_v2_reference.py (params, render,
 * clip_text).
 */
import type { OnnxGraph } from "@budgetfusion/shared/onnx/onnx-graph";
import type { WorldV2Config } from "./config";
import { hashConstants, layoutTable, SLOT_CODES } from "./tables";
import { rgbToLab, TF, TOKEN_FEATURES, type TokenTable } from "./token-table";
import type { WaveletBasis } from "./wavelet";
import { transpose } from "./wavelet";

/** pooler_output width: log1p(count), 10 amounts, background (3), object colour (3). */
export const PARAMS = 17;
const P_INDEX = {
  count: 0,
  oTex: 1,
  oFine: 2,
  oGrain: 3,
  bTex: 4,
  bFine: 5,
  bGrain: 6,
  smooth: 7,
  clutter: 8,
  size: 9,
  colourful: 10,
  bg: 11,
  obj: 14,
} as const;

/** Small builders over one graph: columns of [B, n] tensors and the elementwise ops. */
export function ops(g: OnnxGraph) {
  const s = (v: number) => g.scalar(v);
  return {
    s,
    col: (x: string, i: number) => g.slice(x, 1, i, i + 1),
    cols: (x: string, i: number, n: number) => g.slice(x, 1, i, i + n),
    exp: (a: string) => g.op("Exp", [a]),
    relu: (a: string) => g.op("Relu", [a]),
    clip: (a: string, lo: number, hi: number) => g.op("Clip", [a, s(lo), s(hi)]),
    min: (a: string, b: string) => g.op("Min", [a, b]),
    max: (a: string, b: string) => g.op("Max", [a, b]),
    sigmoid: (a: string) => g.op("Sigmoid", [a]),
    sqrt: (a: string) => g.op("Sqrt", [a]),
    concat: (xs: string[], axis: number) => g.op("Concat", xs, { axis }),
    /** x / sqrt(sum x^2 + eps) over the last axis of [B, n]. */
    unit: (x: string, eps: number) =>
      g.div(x, g.op("Sqrt", [g.add(g.reduceSum(g.mul(x, x), [1], 1), s(eps))])),
  };
}

/** Token features [B, L, TOKEN_FEATURES] of int32 ids [B, L], zeroed where `keep` is 0. */
function tokenFeatures(g: OnnxGraph, ids32: string, table: TokenTable, keep?: string): string {
  const slot = g.op("Gather", [
    g.const(table.slotOf, [table.slotOf.length], "int32", "slot_of"),
    ids32,
  ]);
  const f = g.op("Gather", [
    g.const(table.features, [table.slots, TOKEN_FEATURES], "float32", "token_features"),
    slot,
  ]);
  return keep ? g.mul(f, keep) : f;
}

/** Sum over tokens of `weight` x ((id * mul + add) mod P) / P - 0.5 for `count` hash channels from `offset`. */
function hashSum(
  g: OnnxGraph,
  ids32: string,
  weight: string,
  cfg: WorldV2Config,
  offset: number,
  count: number,
): string {
  const h = hashConstants(cfg);
  const P = cfg.text.hash_prime;
  const ids3 = g.unsqueeze(ids32, [2]);
  const mixed = g.add(
    g.mul(ids3, g.const(h.mul.slice(offset, offset + count), [count], "int32")),
    g.const(h.add.slice(offset, offset + count), [count], "int32"),
  );
  const mod = g.op("Mod", [mixed, g.const([P], [], "int32")], { fmod: 0 });
  const unit = g.sub(g.div(g.op("Cast", [mod], { to: 1 }), g.scalar(P)), g.scalar(0.5));
  return g.reduceSum(g.mul(unit, weight), [1]);
}

interface WorldParamsNodes {
  /** [B, PARAMS] */
  vector: string;
  count: string;
  named: string;
}

/** prompts3.params: summed token features [B, TOKEN_FEATURES] -> the world parameters. */
function paramsGraph(g: OnnxGraph, S: string, cfg: WorldV2Config): WorldParamsNodes {
  const o = ops(g);
  const t = cfg.text;
  const c = (i: number) => o.col(S, i);
  const one = o.s(1);
  const wn = o.min(c(TF.numWeight), one);
  const numMean = g.div(c(TF.numValue), o.max(c(TF.numWeight), one));
  const count = o.clip(
    g.add(g.mul(wn, numMean), g.mul(g.sub(one, wn), c(TF.count))),
    0,
    t.count_max,
  );
  const free = o.relu(g.sub(one, count));
  const objAcc = o.cols(S, TF.objColour, 3);
  const neutral = rgbToLab(t.neutral_bg_rgb).map((v) => v * t.bg_prior);
  const bg = g.div(
    g.add(g.add(o.cols(S, TF.bgColour, 3), g.const(neutral, [3])), g.mul(free, objAcc)),
    g.add(g.add(c(TF.bgWeight), o.s(t.bg_prior)), g.mul(free, c(TF.objWeight))),
  );
  const obj = g.div(objAcc, g.add(c(TF.objWeight), o.s(t.obj_prior)));
  const nN = o.max(c(TF.noun), one);
  const hasObj = o.min(count, one);
  const noObj = g.sub(one, hasObj);
  const unk = c(TF.unknown);
  const vector = o.concat(
    [
      g.op("Log", [g.add(one, count)]),
      g.add(g.div(c(TF.oTex), nN), g.mul(hasObj, c(TF.mTex))),
      g.add(g.div(c(TF.oFine), nN), g.mul(hasObj, c(TF.mFine))),
      g.add(g.div(c(TF.oGrain), nN), g.mul(hasObj, c(TF.mGrain))),
      g.add(g.add(c(TF.bTex), g.mul(noObj, c(TF.mTex))), g.mul(o.s(t.unknown_texture), unk)),
      g.add(c(TF.bFine), g.mul(noObj, c(TF.mFine))),
      g.add(c(TF.bGrain), g.mul(noObj, c(TF.mGrain))),
      g.add(c(TF.smooth), c(TF.bSmooth)),
      g.add(c(TF.clutter), g.mul(o.s(t.unknown_clutter), unk)),
      g.add(g.div(c(TF.nounSize), nN), c(TF.sizeWord)),
      c(TF.colourful),
      bg,
      obj,
    ],
    1,
  );
  const normObj = o.sqrt(g.reduceSum(g.mul(obj, obj), [1], 1));
  const named = g.op("Cast", [g.op("Greater", [normObj, o.s(0.05)])], { to: 1 });
  return { vector, count, named };
}

/** w3.render: parameters + layout hash -> means and variances [B, K, 4, 256] in wavelet coefficients. */
function renderGraph(
  g: OnnxGraph,
  p: WorldParamsNodes,
  hash: string,
  cfg: WorldV2Config,
  basis: WaveletBasis,
): { means: string; variances: string } {
  const o = ops(g);
  const m = cfg.mixture;
  const { K, J } = m;
  const n = basis.n;
  const NP = n * n;
  const v = (name: keyof typeof P_INDEX, width = 1) => o.cols(p.vector, P_INDEX[name], width);
  const one = o.s(1);
  const per = J * SLOT_CODES + 3;
  const layout = layoutTable(cfg);
  const z = g.matmul(
    o.unit(hash, 1e-12),
    g.const(layout.data, [cfg.text.hash_channels, layout.cols]),
  );
  const zc = g.reshape(o.cols(z, 0, K * per), [-1, K, per]);
  const slots = g.reshape(g.slice(zc, 2, 0, J * SLOT_CODES), [-1, K, J, SLOT_CODES]);
  const code = (i: number, w = 1) => g.slice(slots, 3, i, i + w); // [B,K,J,w]
  const grid = (axis: 0 | 1) => {
    const a = new Float32Array(NP);
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) a[y * n + x] = ((axis === 0 ? y : x) + 0.5) / n;
    return g.const(a, [n, n]);
  };
  const yy = grid(0);
  const xx = grid(1);
  const pos = (i: number) =>
    g.unsqueeze(
      g.add(o.s(m.pos_lo), g.mul(o.s(m.pos_hi - m.pos_lo), o.sigmoid(g.mul(o.s(1.7), code(i))))),
      [4],
    );
  const dy = g.sub(yy, pos(0));
  const dx = g.sub(xx, pos(1));
  const dist = o.sqrt(g.add(g.mul(dy, dy), g.mul(dx, dx))); // [B,K,J,n,n]
  const count = p.count;
  const radius = g.div(
    g.mul(o.s(m.r_base), o.exp(g.mul(o.s(m.size_gain), o.clip(v("size"), -2, 2)))),
    o.sqrt(g.add(one, g.mul(o.s(m.r_count), count))),
  );
  const rj = g.mul(
    g.reshape(radius, [-1, 1, 1, 1, 1]),
    g.unsqueeze(o.exp(g.mul(o.s(m.radius_jitter), code(2))), [4]),
  );
  const jIdx = g.const(
    Array.from({ length: J }, (_, j) => j),
    [1, 1, J, 1, 1],
  );
  const vis = o.clip(g.sub(g.reshape(count, [-1, 1, 1, 1, 1]), jIdx), 0, 1);
  const mask = g.mul(vis, o.sigmoid(g.div(g.sub(rj, dist), o.s(m.edge)))); // [B,K,J,n,n]
  const maskFlat = g.reshape(mask, [-1, K, J, NP]);
  // Disc colours [B,K,J,3]: the named colour (or none) + colourful palette + per-disc noise.
  const named = g.reshape(p.named, [-1, 1, 1, 1]);
  const obj = g.reshape(v("obj", 3), [-1, 1, 1, 3]);
  const colourfulAmt = g.reshape(
    g.mul(o.s(m.colourful), o.clip(v("colourful"), 0, 1.5)),
    [-1, 1, 1, 1],
  );
  const noiseScale = g.add(
    g.mul(named, o.s(m.col_named)),
    g.mul(g.sub(one, named), o.s(m.col_free)),
  );
  const colours = g.add(
    g.add(g.mul(named, obj), g.mul(colourfulAmt, code(3, 3))),
    g.mul(noiseScale, code(6, 3)),
  );
  const acc = g.matmul(g.op("Transpose", [colours], { perm: [0, 1, 3, 2] }), maskFlat); // [B,K,3,NP]
  const tot = g.reduceSum(maskFlat, [2], 1); // [B,K,1,NP]
  const objMask = g.sub(
    one,
    g.op("ReduceProd", [g.sub(one, maskFlat)], { axes: [2], keepdims: 1 }),
  ); // [B,K,1,NP]
  // Background with its lighting gradient (opposite directions for K = 2).
  const bgk = g.add(
    g.reshape(v("bg", 3), [-1, 1, 3]),
    g.mul(o.s(m.bgcol * 0.2), g.slice(zc, 2, J * SLOT_CODES, per)),
  );
  const za = o.cols(z, K * per, 1);
  const zb = o.cols(z, K * per + 1, 1);
  const r = o.sqrt(g.add(g.add(g.mul(za, za), g.mul(zb, zb)), o.s(1e-12)));
  const cosOff = g.reshape(g.div(zb, r), [-1, 1, 1]);
  const sinOff = g.reshape(g.div(za, r), [-1, 1, 1]);
  const ck = g.const(
    Array.from({ length: K }, (_, k) => Math.cos((2 * Math.PI * k) / K)),
    [1, K, 1],
  );
  const sk = g.const(
    Array.from({ length: K }, (_, k) => Math.sin((2 * Math.PI * k) / K)),
    [1, K, 1],
  );
  const cosTh = g.sub(g.mul(ck, cosOff), g.mul(sk, sinOff));
  const sinTh = g.add(g.mul(sk, cosOff), g.mul(ck, sinOff));
  const flat = (a: string) => g.reshape(g.sub(a, o.s(0.5)), [1, 1, NP]);
  const gradient = g.mul(o.s(m.grad), g.add(g.mul(cosTh, flat(yy)), g.mul(sinTh, flat(xx)))); // [B,K,NP]
  const lOnly = g.const([1, 0, 0], [1, 1, 3, 1]);
  const bgImg = g.add(g.unsqueeze(bgk, [3]), g.mul(lOnly, g.unsqueeze(gradient, [2]))); // [B,K,3,NP]
  const lab = g.add(bgImg, g.div(g.sub(acc, g.mul(tot, bgImg)), o.max(tot, one)));
  // Region amounts: amt(x) = (1 - exp(-2 max(x - th, 0))) exp(-smooth).
  const smooth = o.exp(g.sub(o.s(0), v("smooth")));
  const amt = (x: string) =>
    g.mul(g.sub(one, o.exp(g.mul(o.s(-2), o.relu(g.sub(x, o.s(m.th)))))), smooth);
  const clutterTex = g.mul(o.s(m.clutter_tex), v("clutter"));
  const a = {
    bTex: amt(g.add(v("bTex"), clutterTex)),
    bFine: amt(v("bFine")),
    bGrain: amt(v("bGrain")),
    oTex: amt(g.add(v("oTex"), clutterTex)),
    oFine: amt(v("oFine")),
    oGrain: amt(v("oGrain")),
  };
  const col4 = (x: string) => g.reshape(x, [-1, 1, 1, 1]);
  const detailBase = (grain: string) => g.add(o.s(m.d_base), g.mul(o.s(1 - m.d_base), grain));
  const sign = g.const(
    Array.from({ length: K }, (_, k) => (k % 2 === 0 ? m.s_grain : -m.s_grain)),
    [1, K, 1, 1],
  );
  const dMean = g.mul(
    sign,
    g.add(
      g.mul(col4(detailBase(a.bGrain)), g.sub(one, objMask)),
      g.mul(col4(detailBase(a.oGrain)), objMask),
    ),
  );
  const pixels = o.concat([lab, dMean], 2); // [B,K,4,NP]
  const Bt = transpose(basis.matrix, NP);
  const toCoef = (x: string) =>
    g.matmul(x, g.const(Float32Array.from(Bt), [NP, NP], "float32", "wavelet_t"));
  const gain = (lev: number) => (lev === 1 ? cfg.decoder.gl1 : lev === 2 ? cfg.decoder.gl2 : 1);
  const undo = new Float32Array(4 * NP);
  for (let ch = 0; ch < 4; ch++)
    for (let i = 0; i < NP; i++) undo[ch * NP + i] = ch < 3 ? 1 / gain(basis.level[i]) : 1;
  const means = g.mul(toCoef(pixels), g.const(undo, [1, 1, 4, NP]));
  // Variances: per-level shapes x region amounts x coverage (B^2 @ mask).
  const shape = (f: (lev: number) => number) =>
    g.const(Float32Array.from(basis.level, f), [1, 1, NP]);
  const shTex = shape((l) => (l === 2 || l === 3 ? 1 : 0));
  const shFine = shape((l) => (l === 1 ? 1 : l === 2 ? m.f_l2 : 0));
  const sh12 = shape((l) => (l <= 2 ? 1 : 0));
  const light = g.mul(
    o.s(m.s_struct ** 2),
    shape((l) => (l >= 4 ? 1 : 0)),
  );
  const B2t = Float32Array.from(Bt, (x) => x * x);
  const covO = g.reshape(g.matmul(objMask, g.const(B2t, [NP, NP], "float32", "wavelet_sq_t")), [
    -1,
    K,
    NP,
  ]);
  const covB = g.sub(one, covO); // rows of B^2 sum to 1
  const col3 = (x: string) => g.reshape(x, [-1, 1, 1]);
  const lumVar = (tex: string, fine: string) =>
    g.add(
      g.mul(o.s(m.tex_w * m.s_tex ** 2), g.mul(col3(tex), shTex)),
      g.mul(o.s(m.s_fine ** 2), g.mul(col3(fine), shFine)),
    );
  const detVar = (fine: string, grain: string) =>
    g.mul(
      g.mul(
        o.s(m.s_fgrain ** 2),
        col3(g.add(g.mul(fine, o.s(1 - m.fg_grain)), g.mul(grain, o.s(m.fg_grain)))),
      ),
      sh12,
    );
  const tex = g.add(g.mul(lumVar(a.bTex, a.bFine), covB), g.mul(lumVar(a.oTex, a.oFine), covO)); // [B,K,NP]
  const lamL = g.add(light, tex);
  const lamC = g.mul(o.s(m.chroma), g.add(g.mul(o.s(0.3), light), tex));
  const lamD = g.add(
    g.mul(detVar(a.bFine, a.bGrain), covB),
    g.mul(detVar(a.oFine, a.oGrain), covO),
  );
  const variances = g.add(
    o.concat(
      [
        g.unsqueeze(lamL, [2]),
        g.unsqueeze(lamC, [2]),
        g.unsqueeze(lamC, [2]),
        g.unsqueeze(lamD, [2]),
      ],
      2,
    ),
    o.s(m.floor),
  );
  return { means, variances };
}

/** Width of last_hidden_state: 77 rows x HIDDEN hold [means, variances] (2 K 4 256 values). */
export function hiddenWidth(cfg: WorldV2Config): number {
  return Math.ceil((2 * cfg.mixture.K * 4 * 256) / 77 / 8) * 8;
}

/** text_encoder/model.onnx: input_ids int32 [B,77] -> last_hidden_state [B,77,H], pooler_output [B,17]. */
export function textEncoderV2(
  g: OnnxGraph,
  table: TokenTable,
  cfg: WorldV2Config,
  basis: WaveletBasis,
): void {
  const ids = g.input("input_ids", "int32", ["batch", 77]);
  const f = tokenFeatures(g, ids, table);
  const S = g.reduceSum(f, [1]);
  const p = paramsGraph(g, S, cfg);
  const hash = hashSum(g, ids, g.slice(f, 2, TF.word, TF.word + 1), cfg, 0, cfg.text.hash_channels);
  const { means, variances } = renderGraph(g, p, hash, cfg, basis);
  const H = hiddenWidth(cfg);
  const used = 2 * cfg.mixture.K * 4 * 256;
  const flat = g.op(
    "Concat",
    [g.reshape(means, [-1, used / 2]), g.reshape(variances, [-1, used / 2])],
    { axis: 1 },
  );
  const zeros = g.mul(
    g.reduceSum(flat, [1], 1),
    g.const(new Float32Array(77 * H - used), [1, 77 * H - used]),
  );
  const hidden = g.reshape(g.op("Concat", [flat, zeros], { axis: 1 }), [-1, 77, H]);
  g.output(hidden, "last_hidden_state", "float32", ["batch", 77, H]);
  g.output(p.vector, "pooler_output", "float32", ["batch", PARAMS]);
}

/** Width of p-bar. */
export function clipTextWidth(cfg: WorldV2Config): number {
  return 1 + PARAMS + cfg.text.clip_hash_dims;
}

/** onnx/text_model.onnx: input_ids, attention_mask int64 [B,L] -> text_embeds [B, 1 + 17 + hash dims]. */
export function clipTextV2(g: OnnxGraph, table: TokenTable, cfg: WorldV2Config): void {
  const o = ops(g);
  const ids = g.op("Cast", [g.input("input_ids", "int64", ["batch", "sequence"])], { to: 6 });
  const keep = g.unsqueeze(
    g.op("Cast", [g.input("attention_mask", "int64", ["batch", "sequence"])], { to: 1 }),
    [2],
  );
  const f = tokenFeatures(g, ids, table, keep);
  const p = paramsGraph(g, g.reduceSum(f, [1]), cfg);
  const cal = cfg.calibration;
  const pz = g.div(
    g.sub(p.vector, g.const(cal.param_mean, [PARAMS])),
    g.const(cal.param_std, [PARAMS]),
  );
  const unit9 = (x: string) => g.div(x, g.add(o.sqrt(g.reduceSum(g.mul(x, x), [1], 1)), o.s(1e-9)));
  const t = cfg.text;
  const hw = hashSum(
    g,
    ids,
    g.slice(f, 2, TF.content, TF.content + 1),
    cfg,
    t.hash_channels,
    t.clip_hash_dims,
  );
  const gamma = g.add(g.mul(o.col(p.vector, 0), o.s(0)), o.s(Math.sqrt(t.clip_g2)));
  const e = o.concat(
    [
      gamma,
      g.mul(o.s(Math.sqrt(t.clip_a2)), unit9(pz)),
      g.mul(o.s(Math.sqrt(t.clip_b2)), unit9(hw)),
    ],
    1,
  );
  g.output(o.unit(e, 0), "text_embeds", "float32", ["batch", clipTextWidth(cfg)]);
}
