/**
 * Prompt sampling, paper 3.1 / Eq. 1: captions -> junk filter -> deterministic order -> CLIP
 * text embeddings -> greedy diversity filter (cosine < S^) -> seeded 90/10 split by prompt.
 *
 * Order (documented in docs/training.md): "shuffle" (default) sorts captions by
 * sha256(`${seed}:${caption}`), a seeded shuffle that does not depend on file position;
 * "file" keeps file order. The greedy filter keeps the first caption of every near-duplicate
 * group in that order. The held-out 10% are the kept prompts with the smallest
 * sha256(`split:${seed}:${caption}`), rounded up (at least one when two or more are kept).
 */
import { createHash } from "node:crypto";
import type { TextEmbedder } from "@budgetfusion/shared/embedding/clip-text-embedder";
import { ValidationError } from "@budgetfusion/shared/errors";
import { readCaptions } from "./caption-source";
import { greedyDiverseSubset } from "./diversity-filter";

export type SampleOrder = "shuffle" | "file";

export interface SampleOptions {
  /** One caption file, or several read in order (deduplicated together). */
  captionsPath: string | readonly string[];
  column?: string;
  threshold?: number;
  order?: SampleOrder;
  seed?: number;
  /** Consider only the first N captions after ordering. */
  maxCandidates?: number;
  /** Keep at most N prompts. */
  maxPrompts?: number;
  /** Held-out fraction (default 0.1). */
  testFraction?: number;
  onProgress?: (stage: "embed", done: number, total: number) => void;
}

interface SampledPrompt {
  /** Stable integer id: the index in kept order. */
  id: number;
  text: string;
  split: "train" | "test";
}

export interface SampleResult {
  prompts: SampledPrompt[];
  /** L2-normalised CLIP text embeddings of `prompts`, `[K, width]`. */
  embeddings: Float32Array;
  width: number;
  stats: {
    lines: number;
    junk: number;
    duplicates: number;
    candidates: number;
    kept: number;
    threshold: number;
    order: SampleOrder;
    seed: number;
    seconds: { read: number; embed: number; filter: number; total: number };
  };
}

function hashKey(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Seeded order of the captions (see module header). */
export function orderCaptions(
  captions: readonly string[],
  order: SampleOrder,
  seed: number,
): string[] {
  if (order === "file") return [...captions];
  const keyed = captions.map((c) => ({ c, k: hashKey(`${seed}:${c}`) }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((x) => x.c);
}

/** Marks the held-out prompts (see module header); returns "test" flags in input order. */
export function splitByPrompt(
  texts: readonly string[],
  seed: number,
  testFraction: number,
): boolean[] {
  if (!(testFraction >= 0 && testFraction < 1)) {
    throw new ValidationError(`testFraction must be in [0, 1), got ${testFraction}`, {
      field: "testFraction",
    });
  }
  const nTest = texts.length >= 2 ? Math.max(1, Math.ceil(texts.length * testFraction)) : 0;
  const ranked = texts.map((t, i) => ({ i, k: hashKey(`split:${seed}:${t}`) }));
  ranked.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  const test = new Array<boolean>(texts.length).fill(false);
  for (const r of ranked.slice(0, testFraction === 0 ? 0 : nTest)) test[r.i] = true;
  return test;
}

export async function samplePrompts(
  embedder: TextEmbedder,
  options: SampleOptions,
): Promise<SampleResult> {
  const t0 = performance.now();
  const threshold = options.threshold ?? 0.75;
  const order = options.order ?? "shuffle";
  const seed = options.seed ?? 0;
  const read = await readCaptions(options.captionsPath, { column: options.column });
  let candidates = orderCaptions(read.captions, order, seed);
  if (options.maxCandidates !== undefined) candidates = candidates.slice(0, options.maxCandidates);
  const t1 = performance.now();
  const all = await embedder.embed(candidates, (done) =>
    options.onProgress?.("embed", done, candidates.length),
  );
  const t2 = performance.now();
  const width = embedder.width;
  const keptIdx = greedyDiverseSubset(all, width, { threshold, maxKept: options.maxPrompts });
  const t3 = performance.now();
  const texts = keptIdx.map((i) => candidates[i]);
  const test = splitByPrompt(texts, seed, options.testFraction ?? 0.1);
  const embeddings = new Float32Array(keptIdx.length * width);
  for (const [k, i] of keptIdx.entries())
    embeddings.set(all.subarray(i * width, (i + 1) * width), k * width);
  return {
    prompts: texts.map((text, id) => ({ id, text, split: test[id] ? "test" : "train" })),
    embeddings,
    width,
    stats: {
      lines: read.total,
      junk: read.junk,
      duplicates: read.duplicates,
      candidates: candidates.length,
      kept: texts.length,
      threshold,
      order,
      seed,
      seconds: {
        read: (t1 - t0) / 1000,
        embed: (t2 - t1) / 1000,
        filter: (t3 - t2) / 1000,
        total: (t3 - t0) / 1000,
      },
    },
  };
}
