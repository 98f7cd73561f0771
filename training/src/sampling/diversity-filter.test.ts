import { l2NormalizeRows } from "@budgetfusion/shared/embedding/clip-text-embedder";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { greedyDiverseSubset } from "./diversity-filter";

/** The definition of Eq. 1's greedy pass, written the slow obvious way. */
function naiveGreedy(emb: Float32Array, width: number, threshold: number): number[] {
  const kept: number[] = [];
  for (let i = 0; i < emb.length / width; i++) {
    const ok = kept.every((k) => {
      let dot = 0;
      for (let d = 0; d < width; d++) dot += emb[i * width + d] * emb[k * width + d];
      return dot < threshold;
    });
    if (ok) kept.push(i);
  }
  return kept;
}

describe("greedyDiverseSubset", () => {
  it("keeps the first of a near-duplicate pair and drops the second (hand example)", () => {
    // rows: e1, e1 rotated slightly (cos 0.8), e2, -e1
    const c = 0.8;
    const s = 0.6;
    const emb = new Float32Array([1, 0, c, s, 0, 1, -1, 0]);
    expect(greedyDiverseSubset(emb, 2, { threshold: 0.75 })).toEqual([0, 2, 3]);
    expect(greedyDiverseSubset(emb, 2, { threshold: 0.85 })).toEqual([0, 1, 2, 3]);
  });

  it("equals the naive sequential greedy for any block size", () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -1, max: 1, noNaN: true }), {
          minLength: 4 * 3,
          maxLength: 4 * 80,
        }),
        fc.integer({ min: 1, max: 17 }),
        fc.constantFrom(0.2, 0.5, 0.75, 0.9),
        fc.constantFrom(8, 16, 1024),
        (values, blockSize, threshold, chunkSize) => {
          const width = 4;
          const n = Math.floor(values.length / width);
          const emb = l2NormalizeRows(Float32Array.from(values.slice(0, n * width)), width);
          // chunkSize 8/16 sends full chunks through the packed (WebAssembly SIMD) product
          expect(greedyDiverseSubset(emb, width, { threshold, blockSize, chunkSize })).toEqual(
            naiveGreedy(emb, width, threshold),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it("stops at maxKept", () => {
    const emb = new Float32Array([1, 0, 0, 1, -1, 0, 0, -1]);
    expect(greedyDiverseSubset(emb, 2, { threshold: 0.5, maxKept: 2 })).toEqual([0, 1]);
  });

  it("rejects a threshold outside (-1, 1]", () => {
    expect(() => greedyDiverseSubset(new Float32Array(2), 2, { threshold: 2 })).toThrow(
      /threshold/,
    );
  });
});
