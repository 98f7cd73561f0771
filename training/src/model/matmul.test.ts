/**
 * The GEMM kernels against a float64 triple loop, on shapes that exercise every fringe
 * (rows not a multiple of 4, columns not a multiple of 8, K across several blocks).
 * Tolerance: 1e-5 relative to max |C| (float32 accumulation over K <= 600).
 */

import { setFlagsFromString } from "node:v8";
import { splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { describe, expect, it } from "vitest";
import { matmulNN, matmulNNWith, matmulNT, packB, simdGemmAvailable, transpose } from "./matmul";
import { createWasmGemm } from "./wasm-gemm";

function rand(len: number, seed: number): Float32Array {
  const r = splitMix32Random(seed);
  return Float32Array.from({ length: len }, () => r.uniform(-1, 1));
}

function reference(
  a: Float32Array,
  b: Float32Array,
  c0: Float32Array | null,
  m: number,
  n: number,
  k: number,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = c0 ? c0[i * n + j] : 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      c[i * n + j] = s;
    }
  return c;
}

function scaled(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / s;
}

// The relaxed-SIMD (FMA) variant is used where the engine ships relaxed SIMD (Node >= 22); on
// Node 20 the V8 flag turns it on so that its bytes are checked here as well.
setFlagsFromString("--experimental-wasm-relaxed-simd");
const fmaGemm = createWasmGemm(true);

const shapes: Array<[number, number, number]> = [
  [1, 1, 1],
  [3, 7, 5],
  [4, 8, 1],
  [13, 19, 300],
  [64, 72, 600],
  [70, 17, 257],
];

describe.each(shapes)("C[%i x %i] over K=%i", (m, n, k) => {
  const a = rand(m * k, m + 1);
  const b = rand(k * n, n + 2);
  const c0 = rand(m * n, k + 3);

  it("matmulNN overwrites and accumulates like the float64 product", () => {
    const c = new Float32Array(m * n).fill(9);
    matmulNN(a, b, c, m, n, k, false);
    expect(scaled(c, reference(a, b, null, m, n, k))).toBeLessThan(1e-5);
    const acc = Float32Array.from(c0);
    matmulNN(a, b, acc, m, n, k, true);
    expect(scaled(acc, reference(a, b, c0, m, n, k))).toBeLessThan(1e-5);
  });

  it("a pre-packed B gives the same product, also when reused", () => {
    const pb = packB(b, k, n);
    for (let rep = 0; rep < 2; rep++) {
      const c = Float32Array.from(c0);
      matmulNN(a, pb, c, m, n, k, true);
      expect(scaled(c, reference(a, b, c0, m, n, k))).toBeLessThan(1e-5);
    }
  });

  it("the plain-JS path and the fused multiply-add kernel agree too", () => {
    for (const g of [null, fmaGemm]) {
      const c = Float32Array.from(c0);
      matmulNNWith(g, a, b, c, m, n, k, true);
      expect(scaled(c, reference(a, b, c0, m, n, k))).toBeLessThan(1e-5);
    }
  });

  it("matmulNT with Bᵀ gives the same product", () => {
    const c = Float32Array.from(c0);
    matmulNT(a, transpose(b, k, n), c, m, n, k, true);
    expect(scaled(c, reference(a, b, c0, m, n, k))).toBeLessThan(1e-5);
  });
});

it("uses the WebAssembly SIMD kernel on this Node, and the FMA variant validates", () => {
  expect(simdGemmAvailable()).toBe(true);
  expect(fmaGemm?.fma).toBe(true);
});
