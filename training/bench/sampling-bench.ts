/**
 * Benchmark of prompt sampling (paper Eq. 1), `npm run bench:sampling -- [N] [D]`:
 * the greedy diversity filter on N random unit vectors of width D (default 25,000 x 512, the
 * width of CLIP ViT-B/32 text embeddings). Random high-dimensional vectors are nearly
 * orthogonal, so every candidate is kept: the filter's worst case (the kept set grows to N).
 * The end-to-end number with a real model comes from the sample CLI (docs/training.md).
 */
import { l2NormalizeRows } from "@budgetfusion/shared/embedding/clip-text-embedder";
import { mersenneRandom } from "@budgetfusion/shared/random/seeded-random";
import { greedyDiverseSubset } from "../src/sampling/diversity-filter";

const n = Number(process.argv[2] ?? 25_000);
const width = Number(process.argv[3] ?? 512);
// A fixed stream of normals; the values only need to be spread out.
const emb = l2NormalizeRows(mersenneRandom(1).normals(n * width), width);

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
