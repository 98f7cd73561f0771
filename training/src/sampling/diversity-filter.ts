/**
 * Greedy diversity filter, paper Eq. 1: walk the candidates in order and keep one only if its
 * cosine similarity to every caption already kept is below the threshold S^ (default .75).
 *
 * Fast path: candidates are taken in blocks of B. One blocked matrix product (B x D times the
 * kept matrix transposed, D x K) rejects every candidate that is too close to an already-kept
 * caption; the survivors are then checked in order against each other, which is exactly the
 * sequential greedy result. The kept set is stored in chunks of 1024 rows; a full chunk is
 * transposed and packed once for training's WebAssembly SIMD GEMM (matmulNN), the growing last
 * chunk goes through the register-tiled JS kernel (matmulNT). Cost O(N K D) multiply-adds.
 */
import { ShapeError, ValidationError } from "@budgetfusion/shared/errors";
import { matmulNN, matmulNT, type PackedB, packB, transpose } from "../model/matmul";

export interface DiversityOptions {
  /** S^: keep a candidate only if max cosine to the kept set is < threshold. */
  threshold?: number;
  /** Candidates per block (default 256). */
  blockSize?: number;
  /** Stop once this many are kept (default: no limit). */
  maxKept?: number;
  /** Kept rows per packed chunk (default 1024; tests use small ones). */
  chunkSize?: number;
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
  const chunkSize = options.chunkSize ?? 1024;
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
  const keptIndex: number[] = [];
  const packed: PackedB[] = [];
  let open = new Float32Array(chunkSize * width);
  let openCount = 0;
  const scores = new Float32Array(blockSize * Math.max(chunkSize, 1));
  const blockMax = new Float32Array(blockSize);
  const dot = (a: number, b: Float32Array, bo: number) => {
    let s = 0;
    for (let d = 0; d < width; d++) s += embeddings[a + d] * b[bo + d];
    return s;
  };

  for (let start = 0; start < n && keptIndex.length < maxKept; start += blockSize) {
    const rows = Math.min(n, start + blockSize) - start;
    const block = embeddings.subarray(start * width, (start + rows) * width);
    blockMax.fill(Number.NEGATIVE_INFINITY);
    const fold = (cols: number) => {
      for (let r = 0; r < rows; r++) {
        let m = blockMax[r];
        for (let c = 0; c < cols; c++) if (scores[r * cols + c] > m) m = scores[r * cols + c];
        blockMax[r] = m;
      }
    };
    // Block product against the kept set as it was before this block.
    for (const chunk of packed) {
      matmulNN(block, chunk, scores, rows, chunkSize, width, false);
      fold(chunkSize);
    }
    const openBefore = openCount;
    if (openBefore > 0) {
      matmulNT(block, open, scores, rows, openBefore, width, false);
      fold(openBefore);
    }
    // Survivors in order, against rows kept earlier in this block.
    const firstNew = keptIndex.length;
    for (let r = 0; r < rows && keptIndex.length < maxKept; r++) {
      if (blockMax[r] >= threshold) continue;
      const co = (start + r) * width;
      let ok = true;
      for (let k = firstNew; k < keptIndex.length && ok; k++) {
        if (dot(co, embeddings, keptIndex[k] * width) >= threshold) ok = false;
      }
      if (!ok) continue;
      keptIndex.push(start + r);
      open.set(embeddings.subarray(co, co + width), openCount * width);
      openCount++;
      if (openCount === chunkSize) {
        const t = new Float32Array(width * chunkSize);
        transpose(open, chunkSize, width, t);
        packed.push(packB(t, width, chunkSize));
        open = new Float32Array(chunkSize * width);
        openCount = 0;
      }
    }
  }
  return keptIndex;
}
