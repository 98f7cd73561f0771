/**
 * The one piece of word order the world's text side understands: a colour word followed (within
 * two tokens) by a scene word colours the scene, not the objects ("a red ball on a white floor":
 * red ball, white floor). Given as a reference over arrays and as ONNX nodes, used by the text
 * encoder and by the CLIP-like text model, so both read prompts the same way.
 */
import type { OnnxGraph } from "@budgetfusion/shared/onnx/onnx-graph";
import { C_LEX, FEATURE } from "./world-spec";

const F = FEATURE;
/** Scene words carry bgWeight 0.6 (lexicon.ts); any scene word counts fully as a scene. */
const SCENE_GAIN = 2;
const colourFlag = (objWeight: number) => Math.min(Math.max((objWeight - 0.5) * 2, 0), 1);

/** In place on token features [rows, seq, stride] (first C_LEX channels are lexicon features). */
export function routeColoursRef(
  feats: Float32Array,
  rows: number,
  seq: number,
  stride: number,
): void {
  for (let r = 0; r < rows; r++) {
    const at = (i: number, c: number) => (r * seq + i) * stride + c;
    const scene = (i: number) => (i < seq ? Math.min(SCENE_GAIN * feats[at(i, F.bgWeight)], 1) : 0);
    const moves = Array.from(
      { length: seq },
      (_, i) => Math.max(scene(i + 1), scene(i + 2)) * colourFlag(feats[at(i, F.objWeight)]),
    );
    for (let i = 0; i < seq; i++) {
      const m = moves[i];
      if (m === 0) continue;
      for (let c = 0; c < 3; c++) {
        const v = feats[at(i, F.objColor + c)];
        feats[at(i, F.bgColor + c)] += m * v;
        feats[at(i, F.objColor + c)] = v * (1 - m);
      }
      const w = feats[at(i, F.objWeight)];
      feats[at(i, F.bgWeight)] += m * w;
      feats[at(i, F.objWeight)] = w * (1 - m);
    }
  }
}

const TO_END = 2 ** 62;

/** The same as ONNX nodes on lexicon features [B, L, C_LEX]; returns the routed features. */
export function routeColoursGraph(g: OnnxGraph, feats: string): string {
  const ch = (c: number, n = 1) => g.slice(feats, 2, c, c + n);
  const scene = g.op("Min", [g.mul(ch(F.bgWeight), g.scalar(SCENE_GAIN)), g.scalar(1)]);
  const shifted = (k: number) =>
    g.op("Concat", [g.slice(scene, 1, k, TO_END), g.mul(g.slice(scene, 1, 0, k), g.scalar(0))], {
      axis: 1,
    });
  const ahead = g.op("Max", [shifted(1), shifted(2)]);
  const flag = g.op("Clip", [
    g.mul(g.sub(ch(F.objWeight), g.scalar(0.5)), g.scalar(2)),
    g.scalar(0),
    g.scalar(1),
  ]);
  const move = g.mul(ahead, flag);
  const stay = g.sub(g.scalar(1), move);
  const objColor = ch(F.objColor, 3);
  const objWeight = ch(F.objWeight);
  return g.op(
    "Concat",
    [
      ch(F.presence),
      g.mul(objColor, stay),
      g.mul(objWeight, stay),
      g.add(ch(F.bgColor, 3), g.mul(objColor, move)),
      g.add(ch(F.bgWeight), g.mul(objWeight, move)),
      ch(F.count, C_LEX - F.count),
    ],
    { axis: 2 },
  );
}
