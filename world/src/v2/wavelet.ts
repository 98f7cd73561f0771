/**
 * The orthonormal periodic Daubechies-2 wavelet basis of a 16x16 plane (4 levels, Mallat layout)
 * as one 256x256 matrix: coefficients X = B x, pixels x = B^T X. World v2's covariances are
 * diagonal in it, per channel; `level` is 1 (finest detail) .. 4, 5 for the approximation.
 * Hand-written: no npm package builds wavelet matrices, and the world needs the matrix itself
 * (its graphs are MatMuls by it).
 */
export interface WaveletBasis {
  n: number;
  /** Row-major [n*n, n*n]: row i is basis function i. */
  matrix: Float64Array;
  level: Int32Array;
}

const SQRT3 = Math.sqrt(3);
const DB2 = [1 + SQRT3, 3 + SQRT3, 3 - SQRT3, 1 - SQRT3].map((v) => v / (4 * Math.SQRT2));

/** One periodic DWT level [m, m]: first m/2 rows lowpass, last m/2 highpass. */
function dwtMatrix(m: number): Float64Array {
  const h = DB2;
  const g = h.map((_, k) => (k % 2 === 0 ? 1 : -1) * h[h.length - 1 - k]);
  const a = new Float64Array(m * m);
  for (let i = 0; i < m / 2; i++) {
    for (let k = 0; k < h.length; k++) {
      a[i * m + ((2 * i + k) % m)] += h[k];
      a[(m / 2 + i) * m + ((2 * i + k) % m)] += g[k];
    }
  }
  return a;
}

export function waveletBasis(n: number, levels: number): WaveletBasis {
  const N = n * n;
  const matrix = new Float64Array(N * N);
  const dwts = Array.from({ length: levels }, (_, l) => dwtMatrix(n >> l));
  for (let idx = 0; idx < N; idx++) {
    const y = new Float64Array(N);
    y[idx] = 1;
    for (let l = 0; l < levels; l++) {
      const m = n >> l;
      const A = dwts[l];
      // y[:m,:m] = A y[:m,:m] A^T
      const t = new Float64Array(m * m);
      for (let r = 0; r < m; r++)
        for (let c = 0; c < m; c++) {
          let s = 0;
          for (let k = 0; k < m; k++) s += A[r * m + k] * y[k * n + c];
          t[r * m + c] = s;
        }
      for (let r = 0; r < m; r++)
        for (let c = 0; c < m; c++) {
          let s = 0;
          for (let k = 0; k < m; k++) s += t[r * m + k] * A[c * m + k];
          y[r * n + c] = s;
        }
    }
    for (let i = 0; i < N; i++) matrix[i * N + idx] = y[i];
  }
  const level = new Int32Array(N);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      let m = n;
      let lev = 0;
      while (m > 1 && r < m / 2 && c < m / 2 && lev < levels) {
        m /= 2;
        lev += 1;
      }
      level[r * n + c] = lev === levels ? levels + 1 : lev + 1;
    }
  }
  return { n, matrix, level };
}

/** B^T diag(gain) B: the pixel-space filter that scales each coefficient by its level's gain. */
export function levelFilter(b: WaveletBasis, gainOf: (level: number) => number): Float64Array {
  const N = b.n * b.n;
  const out = new Float64Array(N * N);
  for (let i = 0; i < N; i++) {
    const gi = gainOf(b.level[i]);
    for (let p = 0; p < N; p++) {
      const bp = gi * b.matrix[i * N + p];
      if (bp === 0) continue;
      for (let q = 0; q < N; q++) out[p * N + q] += bp * b.matrix[i * N + q];
    }
  }
  return out;
}

/** Transpose of a row-major square matrix. */
export function transpose(m: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = m[i * n + j];
  return t;
}
