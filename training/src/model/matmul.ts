/**
 * Dense kernels for the predictor's CPU training (SPEC §4): a cache-blocked, register-tiled
 * C = A·Bᵀ on row-major Float32Arrays, plus a transpose.
 *
 * Why hand-written: no maintained JS autograd/BLAS library gets within 5x of this on Node
 * (measured in notes/training-in-typescript.md: tfjs-wasm 2.0-2.3 GFLOP/s vs 3.5-4.2 for a
 * blocked JS loop; tfjs-node cannot install here). Every GEMM of the LSTM forward and backward
 * is written as A·Bᵀ ("NT": both operands walk K contiguously), the other layouts come from an
 * explicit O(n²) transpose. Partial sums are kept in JS doubles inside a K block, so the result
 * is at least as accurate as a float32 BLAS.
 */

/** K block: 4 rows of A plus NB rows of B over KB floats stay in L1/L2. */
const KB = 256;
/** N block: B tile of NB x KB floats (64 KiB) is reused by every row tile of A. */
const NB = 64;

/**
 * C[M,N] = (accumulate ? C : 0) + A[M,K] · B[N,K]ᵀ, all row-major and densely packed.
 * @param a [M,K]  @param b [N,K]  @param c [M,N] (written)
 */
export function matmulNT(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  accumulate: boolean,
): void {
  if (k === 0) {
    if (!accumulate) c.fill(0, 0, m * n);
    return;
  }
  for (let k0 = 0; k0 < k; k0 += KB) {
    const k1 = Math.min(k, k0 + KB);
    const add = accumulate || k0 > 0;
    for (let j0 = 0; j0 < n; j0 += NB) {
      const j1 = Math.min(n, j0 + NB);
      let i = 0;
      for (; i + 4 <= m; i += 4) {
        const a0 = i * k;
        const a1 = a0 + k;
        const a2 = a1 + k;
        const a3 = a2 + k;
        let j = j0;
        for (; j + 2 <= j1; j += 2) {
          const b0 = j * k;
          const b1 = b0 + k;
          let s00 = 0;
          let s01 = 0;
          let s10 = 0;
          let s11 = 0;
          let s20 = 0;
          let s21 = 0;
          let s30 = 0;
          let s31 = 0;
          for (let p = k0; p < k1; p++) {
            const x0 = b[b0 + p];
            const x1 = b[b1 + p];
            const y0 = a[a0 + p];
            const y1 = a[a1 + p];
            const y2 = a[a2 + p];
            const y3 = a[a3 + p];
            s00 += y0 * x0;
            s01 += y0 * x1;
            s10 += y1 * x0;
            s11 += y1 * x1;
            s20 += y2 * x0;
            s21 += y2 * x1;
            s30 += y3 * x0;
            s31 += y3 * x1;
          }
          const c0 = i * n + j;
          if (add) {
            c[c0] += s00;
            c[c0 + 1] += s01;
            c[c0 + n] += s10;
            c[c0 + n + 1] += s11;
            c[c0 + 2 * n] += s20;
            c[c0 + 2 * n + 1] += s21;
            c[c0 + 3 * n] += s30;
            c[c0 + 3 * n + 1] += s31;
          } else {
            c[c0] = s00;
            c[c0 + 1] = s01;
            c[c0 + n] = s10;
            c[c0 + n + 1] = s11;
            c[c0 + 2 * n] = s20;
            c[c0 + 2 * n + 1] = s21;
            c[c0 + 3 * n] = s30;
            c[c0 + 3 * n + 1] = s31;
          }
        }
        for (; j < j1; j++) {
          const b0 = j * k;
          for (let r = 0; r < 4; r++) {
            const ar = (i + r) * k;
            let s = 0;
            for (let p = k0; p < k1; p++) s += a[ar + p] * b[b0 + p];
            const ci = (i + r) * n + j;
            c[ci] = add ? c[ci] + s : s;
          }
        }
      }
      for (; i < m; i++) {
        const ar = i * k;
        for (let j = j0; j < j1; j++) {
          const b0 = j * k;
          let s = 0;
          for (let p = k0; p < k1; p++) s += a[ar + p] * b[b0 + p];
          const ci = i * n + j;
          c[ci] = add ? c[ci] + s : s;
        }
      }
    }
  }
}

/** dst[cols,rows] = src[rows,cols]ᵀ (row-major). Returns dst. */
export function transpose(
  src: Float32Array,
  rows: number,
  cols: number,
  dst: Float32Array = new Float32Array(rows * cols),
): Float32Array {
  const T = 32; // tile so that both sides stay in cache lines
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) {
        const s = r * cols;
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[s + c];
      }
    }
  }
  return dst;
}
