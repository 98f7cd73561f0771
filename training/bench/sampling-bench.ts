/**
 * Benchmark of prompt sampling (paper Eq. 1), `tsx training/bench/sampling-bench.ts [N] [D]`:
 * the greedy diversity filter on N random unit vectors of width D (default 25,000 x 512, the
 * width of CLIP ViT-B/32 text embeddings). Random high-dimensional vectors are nearly
 * orthogonal, so every candidate is kept: the filter's worst case (the kept set grows to N).
 * The end-to-end number with a real model comes from the sample CLI (docs/training.md).
 */
import { l2NormalizeRows } from "@budgetfusion/shared/embedding/clip-text-embedder";
import { greedyDiverseSubset } from "../src/sampling/diversity-filter";

const n = Number(process.argv[2] ?? 25_000);
const width = Number(process.argv[3] ?? 512);
// xorshift32 + Box-Muller: a fixed, fast stream; the values only need to be spread out
let state = 0x9e3779b9;
const uniform = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return ((state >>> 0) + 0.5) / 4294967296;
};
const emb = new Float32Array(n * width);
for (let i = 0; i < emb.length; i++)
  emb[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
l2NormalizeRows(emb, width);

const t0 = performance.now();
const kept = greedyDiverseSubset(emb, width, { threshold: 0.75 });
const seconds = (performance.now() - t0) / 1000;
const macs = ((kept.length * (kept.length - 1)) / 2) * width;
console.log(
  JSON.stringify({
    n,
    width,
    kept: kept.length,
    seconds: +seconds.toFixed(2),
    gmacPerSecond: +(macs / seconds / 1e9).toFixed(2),
  }),
);
