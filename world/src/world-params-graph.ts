/**
 * worldParams + packParams (world-params.ts) as ONNX nodes, for the text encoder graph: pooled
 * token features [B, C_TOKEN] -> packed world parameters [B, C_TEXT] (docs/mini-world.md §2).
 */
import type { OnnxGraph } from "@budgetfusion/shared/onnx/onnx-graph";
import { P, PACK } from "./world-params";
import { C_HASH, C_LEX, C_TEXT, FEATURE, J } from "./world-spec";

/** worldParams + packParams as nodes: pooled token features [B, C_TOKEN] -> packed [B, C_TEXT]. */
export function worldParamsGraph(g: OnnxGraph, S: string): string {
  const s = (v: number) => g.scalar(v);
  const one = s(1);
  const col = (i: number) => g.slice(S, 1, i, i + 1);
  const cols = (i: number, n: number) => g.slice(S, 1, i, i + n);
  const neg = (a: string) => g.op("Neg", [a]);
  const exp = (a: string) => g.op("Exp", [a]);
  const clip = (a: string, lo2: number, hi2: number) => g.op("Clip", [a, s(lo2), s(hi2)]);
  const F = FEATURE;
  const spec = g.sub(one, exp(g.mul(col(F.presence), s(-P.specGain))));
  const obj = g.div(cols(F.objColor, 3), g.add(col(F.objWeight), s(P.objPrior)));
  const wNum = g.op("Min", [col(F.numWeight), one]);
  const count = clip(
    g.add(g.mul(wNum, col(F.numValue)), g.mul(g.sub(one, wNum), col(F.count))),
    0,
    J,
  );
  const free = g.op("Relu", [g.sub(one, count)]);
  const bgNum = g.add(
    g.add(
      cols(F.bgColor, 3),
      g.const(
        P.neutralBg.map((v) => v * P.bgPrior),
        [3],
      ),
    ),
    g.mul(free, cols(F.objColor, 3)),
  );
  const bgDen = g.add(g.add(col(F.bgWeight), s(P.bgPrior)), g.mul(free, col(F.objWeight)));
  const bg = g.div(bgNum, bgDen);
  const tex = g.sub(one, exp(neg(col(F.texture))));
  const fine = g.sub(one, exp(neg(col(F.fine))));
  const smooth = exp(neg(col(F.smooth)));
  const aL = g.mul(g.add(s(P.texBase), g.mul(s(P.texGain), tex)), smooth);
  const alphaRaw = g.add(
    g.sub(g.sub(s(P.alphaBase), g.mul(s(P.alphaTex), tex)), g.mul(s(P.alphaFine), fine)),
    g.mul(s(P.alphaSmooth), g.sub(one, smooth)),
  );
  const alpha = clip(alphaRaw, P.alphaMin, P.alphaMax);
  const aGrain = g.mul(
    g.add(s(P.grainBase), g.mul(g.mul(s(P.grainGain), fine), g.add(s(0.3), g.mul(s(0.7), tex)))),
    smooth,
  );
  const sizeF = exp(g.mul(s(P.sizeGain), clip(col(F.size), -2, 2)));
  const radius = g.div(
    g.mul(s(P.radiusBase), sizeF),
    g.op("Sqrt", [g.add(one, g.mul(s(P.radiusCount), count))]),
  );
  const hash = cols(C_LEX, C_HASH);

  const pad = g.mul(
    col(0),
    g.const(new Float32Array(C_TEXT - PACK.hash - C_HASH), [1, C_TEXT - PACK.hash - C_HASH]),
  );
  return g.op(
    "Concat",
    [
      spec,
      bg,
      obj,
      count,
      aL,
      g.mul(s(P.chromaRatio), aL),
      g.mul(s(P.chromaRatio), aL),
      aGrain,
      alpha,
      radius,
      hash,
      pad,
    ],
    { axis: 1 },
  );
}
