/**
 * Dense kernels for the predictor's CPU training (SPEC §4): C = A·B (matmulNN, WebAssembly SIMD
 * with a JS fallback), a cache-blocked register-tiled C = A·Bᵀ in plain JS (matmulNT), and a
 * transpose.
 *
 * Why hand-written: no maintained JS autograd/BLAS library gets within 5x of this on Node
 * (measured in docs/notes/training-in-typescript.md: tfjs-wasm 2.0-2.3 GFLOP/s vs 3.5-4.2 for a
 * blocked JS loop; tfjs-node cannot install here). The JS loops keep partial sums in doubles;
 * the SIMD kernel (wasm-gemm.ts) accumulates in float32 like a BLAS.
 */
import { createWasmGemm, type WasmGemm } from "./wasm-gemm";

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

let gemm: WasmGemm | null | undefined;
/** Set BF_NO_WASM=1 to force the JS kernels (benchmarks, debugging). */
function wasmGemm(): WasmGemm | null {
  if (gemm === undefined)
    gemm =
      typeof process !== "undefined" && process.env.BF_NO_WASM === "1" ? null : createWasmGemm();
  return gemm;
}

/** True when matmulNN runs the WebAssembly SIMD kernel in this thread. */
export function simdGemmAvailable(): boolean {
  return wasmGemm() !== null;
}

/** Rows of A per block (64 x KB floats = 64 KiB of A stay in L2 across all column strips). */
const MB = 64;

/** Plain-JS C[r0..r1, c0..c1] += A·B (double partial sums), for fringes and the fallback. */
function nnScalar(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  n: number,
  k: number,
  r0: number,
  r1: number,
  c0: number,
  c1: number,
): void {
  const acc = new Float64Array(c1 - c0);
  for (let i = r0; i < r1; i++) {
    acc.fill(0);
    const ai = i * k;
    for (let p = 0; p < k; p++) {
      const av = a[ai + p];
      if (av === 0) continue;
      const bp = p * n;
      for (let j = c0; j < c1; j++) acc[j - c0] += av * b[bp + j];
    }
    const ci = i * n;
    for (let j = c0; j < c1; j++) c[ci + j] += acc[j - c0];
  }
}

const align16 = (x: number): number => (x + 15) & ~15;

/** B [K,N] re-laid as 8-column strips (see wasm-gemm.ts), packed once and reused across calls. */
export interface PackedB {
  readonly src: Float32Array;
  readonly k: number;
  readonly n: number;
  /** Null where the SIMD kernel is unavailable or N < 8. */
  readonly panels: Float32Array | null;
}

/** B [K,N] -> 8-column strips: strip s, step p, column c at (s*k + p)*8 + c. */
function packPanels(b: Float32Array, k: number, n: number): Float32Array {
  const strips = n >> 3;
  const panels = new Float32Array(strips * k * 8);
  for (let s = 0; s < strips; s++)
    for (let p = 0; p < k; p++) {
      const dst = (s * k + p) * 8;
      const src = p * n + s * 8;
      for (let c = 0; c < 8; c++) panels[dst + c] = b[src + c];
    }
  return panels;
}

/** Packs B [K,N] for repeated matmulNN calls (e.g. W_hh over every time step). */
export function packB(b: Float32Array, k: number, n: number): PackedB {
  if (!wasmGemm() || n >> 3 === 0) return { src: b, k, n, panels: null };
  return { src: b, k, n, panels: packPanels(b, k, n) };
}

/**
 * C[M,N] = (accumulate ? C : 0) + A[M,K] · B[K,N], all row-major and densely packed (B may be
 * pre-packed with packB). The SIMD kernel covers the largest 4-row x 8-column aligned part;
 * fringes run in JS.
 */
export function matmulNN(
  a: Float32Array,
  b: Float32Array | PackedB,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  accumulate: boolean,
): void {
  matmulNNWith(wasmGemm(), a, b, c, m, n, k, accumulate);
}

/** matmulNN on an explicit kernel instance (null = plain JS); tests pin a variant with it. */
export function matmulNNWith(
  g: WasmGemm | null,
  a: Float32Array,
  bIn: Float32Array | PackedB,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  accumulate: boolean,
): void {
  if (!accumulate) c.fill(0, 0, m * n);
  if (k === 0) return;
  const b = bIn instanceof Float32Array ? bIn : bIn.src;
  const m4 = m & ~3;
  const n8 = n & ~7;
  if (!g || m4 === 0 || n8 === 0) {
    nnScalar(a, b, c, n, k, 0, m, 0, n);
    return;
  }
  const panels = bIn instanceof Float32Array || !bIn.panels ? packPanels(b, k, n) : bIn.panels;
  const tiles = m4 >> 2;
  // Layout [B panels | packed A | C]: B first, so a B reused by consecutive calls (W_hh over
  // all time steps) stays in linear memory and is not copied again.
  const pbOff = 0;
  const paOff = align16(panels.length * 4);
  const cOff = align16(paOff + tiles * k * 16);
  const need = cOff + m * n * 4;
  if (g.memory.buffer.byteLength < need)
    g.memory.grow(Math.ceil((need - g.memory.buffer.byteLength) / 65536));
  const f = new Float32Array(g.memory.buffer);
  if (g.resident !== panels) {
    f.set(panels, pbOff / 4);
    g.resident = panels;
  }
  // Pack A's 4-row tiles: (t*k + p)*4 + r.
  for (let t = 0; t < tiles; t++) {
    const base = paOff / 4 + t * k * 4;
    const r0 = 4 * t * k;
    for (let p = 0; p < k; p++) {
      const d = base + p * 4;
      f[d] = a[r0 + p];
      f[d + 1] = a[r0 + k + p];
      f[d + 2] = a[r0 + 2 * k + p];
      f[d + 3] = a[r0 + 3 * k + p];
    }
  }
  f.set(c.subarray(0, m * n), cOff / 4);
  const tileBlock = MB >> 2;
  for (let k0 = 0; k0 < k; k0 += KB) {
    const k1 = Math.min(k, k0 + KB);
    for (let t0 = 0; t0 < tiles; t0 += tileBlock)
      g.kernel(paOff, pbOff, cOff, t0, Math.min(tiles, t0 + tileBlock), n8 >> 3, k0, k1, k, n * 4);
  }
  c.set(f.subarray(cOff / 4, cOff / 4 + m * n));
  if (n8 < n) nnScalar(a, b, c, n, k, 0, m4, n8, n);
  if (m4 < m) nnScalar(a, b, c, n, k, m4, m, 0, n);
}
