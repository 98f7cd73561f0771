/**
 * Greedy diversity filter, paper Eq. 1: walk the candidates in order and keep one only if its
 * cosine similarity to every caption already kept is below the threshold S^ (default .75).
 *
 * Fast path: candidates are taken in blocks of B. One blocked matrix product (B x D times the
 * kept matrix, D x K, over Float32Array rows) rejects every candidate that is too close to an
 * already-kept caption; the few survivors are then checked in order against each other, which
 * is exactly the sequential greedy result. Cost O(N K D) multiply-adds with a small constant,
 * cache-friendly because the kept matrix is streamed once per block.
 */
import { ShapeError, ValidationError } from "@budgetfusion/shared/errors";

export interface DiversityOptions {
  /** S^: keep a candidate only if max cosine to the kept set is < threshold. */
  threshold?: number;
  /** Candidates per block (default 256). */
  blockSize?: number;
  /** Stop once this many are kept (default: no limit). */
  maxKept?: number;
}

/**
 * Indices (into the candidate order) of the kept rows, ascending.
 * `embeddings` is `[N, D]` row-major and L2-normalised, so dot products are cosines.
 */
export function greedyDiverseSubset(
  embeddings: Float32Array,
  width: number,
  options: DiversityOptions = {},
): number[] {
  const threshold = options.threshold ?? 0.75;
  const blockSize = options.blockSize ?? 256;
  const maxKept = options.maxKept ?? Number.POSITIVE_INFINITY;
  if (!(threshold > -1 && threshold <= 1)) {
    throw new ValidationError(`threshold must be in (-1, 1], got ${threshold}`, {
      field: "threshold",
    });
  }
  if (embeddings.length % width !== 0) {
    throw new ShapeError(`embeddings length ${embeddings.length} is not a multiple of ${width}`, {
      field: "embeddings",
    });
  }
  const n = embeddings.length / width;
  // Kept rows are copied into one contiguous matrix that grows as rows are accepted.
  let kept = new Float32Array(Math.min(n, 1024) * width);
  let keptCount = 0;
  const keptIndex: number[] = [];
  const blockMax = new Float32Array(blockSize);

  const accept = (i: number) => {
    if ((keptCount + 1) * width > kept.length) {
      const grown = new Float32Array(Math.min(n, (kept.length / width) * 2) * width);
      grown.set(kept);
      kept = grown;
    }
    kept.set(embeddings.subarray(i * width, (i + 1) * width), keptCount * width);
    keptCount++;
    keptIndex.push(i);
  };

  for (let start = 0; start < n && keptIndex.length < maxKept; start += blockSize) {
    const end = Math.min(n, start + blockSize);
    const rows = end - start;
    blockMax.fill(Number.NEGATIVE_INFINITY);
    // Block product against the kept set as it was before this block.
    const before = keptCount;
    for (let k = 0; k < before; k++) {
      const ko = k * width;
      for (let r = 0; r < rows; r++) {
        if (blockMax[r] >= threshold) continue;
        const co = (start + r) * width;
        let dot = 0;
        for (let d = 0; d < width; d++) dot += embeddings[co + d] * kept[ko + d];
        if (dot > blockMax[r]) blockMax[r] = dot;
      }
    }
    // Survivors in order, against rows kept earlier in this block.
    for (let r = 0; r < rows && keptIndex.length < maxKept; r++) {
      if (blockMax[r] >= threshold) continue;
      const co = (start + r) * width;
      let ok = true;
      for (let k = before; k < keptCount && ok; k++) {
        let dot = 0;
        const ko = k * width;
        for (let d = 0; d < width; d++) dot += embeddings[co + d] * kept[ko + d];
        if (dot >= threshold) ok = false;
      }
      if (ok) accept(start + r);
    }
  }
  return keptIndex;
}
