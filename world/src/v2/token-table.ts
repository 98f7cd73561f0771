/**
 * World v2's per-token lookup over the CLIP BPE vocabulary: token id -> slot -> word features
 * (data/lexicon-v2.json). The text encoders sum these over the prompt's tokens and turn the sums
 * into world parameters (text-graphs.ts). Slot 0: a word with no lexicon entry (unknown: it adds
 * texture and clutter), slot 1: special and non-word tokens (zeros, so padding never changes a
 * prompt), slot 2: a stop word; then one slot per lexicon word that is a single BPE token.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { WorldV2Config } from "./config";

/** Columns of a token's features. */
export const TF = {
  word: 0,
  unknown: 1,
  bgWeight: 2,
  bgColour: 3, // 3 (L, a, b), pre-weighted
  objWeight: 6,
  objColour: 7, // 3, pre-weighted
  noun: 10,
  oTex: 11,
  oFine: 12,
  oGrain: 13,
  nounSize: 14,
  bTex: 15,
  bFine: 16,
  bGrain: 17,
  bSmooth: 18,
  mTex: 19,
  mFine: 20,
  mGrain: 21,
  clutter: 22,
  smooth: 23,
  sizeWord: 24,
  colourful: 25,
  count: 26,
  numWeight: 27,
  numValue: 28,
  content: 29,
} as const;
export const TOKEN_FEATURES = 30;

type Rgb = [number, number, number];
interface LexEntry {
  bg?: Rgb;
  obj?: Rgb;
  objw?: number;
  count?: number;
  num?: number;
  otex?: number;
  ofine?: number;
  ograin?: number;
  size?: number;
  [k: string]: unknown;
}

/** [0,1] RGB -> the world's opponent (L, a, b) in [-1,1] units. */
export function rgbToLab([r, g, b]: readonly number[]): Rgb {
  const [R, G, B] = [r, g, b].map((v) => 2 * v - 1);
  return [(R + G + B) / 3, (R - G) / 2, ((R + G) / 2 - B) / 2];
}

const HERE = dirname(fileURLToPath(import.meta.url));

function lexiconV2(): Record<string, LexEntry> {
  return JSON.parse(readFileSync(join(HERE, "..", "data", "lexicon-v2.json"), "utf8"));
}

export interface TokenTable {
  slotOf: Int32Array;
  /** [slots, TOKEN_FEATURES] */
  features: Float32Array;
  slots: number;
  /** Lexicon words that are several BPE tokens (they read as unknown words). */
  dropped: string[];
}

const WORD_TOKEN = /^[a-z]+(<\/w>)?$/;

function wordRow(e: LexEntry, cfg: WorldV2Config, content: boolean): Float32Array {
  const r = new Float32Array(TOKEN_FEATURES);
  const num = (k: string) => (typeof e[k] === "number" ? (e[k] as number) : 0);
  r[TF.word] = 1;
  r[TF.content] = content ? 1 : 0;
  if (e.bg) {
    const w = cfg.text.bg_word_weight;
    r[TF.bgWeight] = w;
    rgbToLab(e.bg).forEach((v, i) => {
      r[TF.bgColour + i] = w * v;
    });
  }
  if (e.obj) {
    const w = e.objw ?? 0;
    r[TF.objWeight] = w;
    rgbToLab(e.obj).forEach((v, i) => {
      r[TF.objColour + i] = w * v;
    });
  }
  if (e.count !== undefined && e.otex !== undefined) {
    r[TF.noun] = 1;
    r[TF.oTex] = num("otex");
    r[TF.oFine] = num("ofine");
    r[TF.oGrain] = num("ograin");
    r[TF.nounSize] = num("size");
  }
  const sums: [number, string][] = [
    [TF.bTex, "btex"],
    [TF.bFine, "bfine"],
    [TF.bGrain, "bgrain"],
    [TF.bSmooth, "bsmooth"],
    [TF.mTex, "mtex"],
    [TF.mFine, "mfine"],
    [TF.mGrain, "mgrain"],
    [TF.clutter, "clutter"],
    [TF.smooth, "smooth"],
    [TF.sizeWord, "sizew"],
    [TF.colourful, "colourful"],
    [TF.count, "count"],
  ];
  for (const [col, key] of sums) r[col] = num(key);
  if (e.num !== undefined) {
    r[TF.numWeight] = 1;
    r[TF.numValue] = e.num;
  }
  return r;
}

export function buildTokenTable(
  vocab: ReadonlyMap<string, number>,
  vocabSize: number,
  cfg: WorldV2Config,
): TokenTable {
  const stop = new Set(cfg.text.stop_words.split(/\s+/));
  const slotOf = new Int32Array(vocabSize).fill(1);
  for (const [token, id] of vocab) if (id < vocabSize && WORD_TOKEN.test(token)) slotOf[id] = 0;
  const unknown = new Float32Array(TOKEN_FEATURES);
  unknown[TF.word] = 1;
  unknown[TF.unknown] = 1;
  unknown[TF.content] = 1;
  const stopRow = new Float32Array(TOKEN_FEATURES);
  stopRow[TF.word] = 1;
  const rows: Float32Array[] = [unknown, new Float32Array(TOKEN_FEATURES), stopRow];
  for (const w of stop) {
    const id = vocab.get(`${w}</w>`);
    if (id !== undefined) slotOf[id] = 2;
  }
  const dropped: string[] = [];
  const lex = lexiconV2();
  for (const word of Object.keys(lex).sort()) {
    const id = vocab.get(`${word}</w>`);
    if (id === undefined) {
      dropped.push(word);
      continue;
    }
    slotOf[id] = rows.length;
    rows.push(wordRow(lex[word], cfg, !stop.has(word)));
  }
  const features = new Float32Array(rows.length * TOKEN_FEATURES);
  rows.forEach((r, i) => {
    features.set(r, i * TOKEN_FEATURES);
  });
  return { slotOf, features, slots: rows.length, dropped };
}
