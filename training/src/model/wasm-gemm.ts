/**
 * WebAssembly SIMD GEMM kernel: C[M,N] (+)= A[M,K] · B[K,N] (row-major, float32), the hot loop
 * of predictor training (SPEC §4). Why: plain JS tops out near 2.5-4 GFLOP/s per core, far from
 * the paper-size goal; a 4x8 register tile with f32x4 vectors (4 broadcast A values x 2 B
 * vectors, 8 accumulators) is the standard micro-kernel shape and needs only baseline SIMD128.
 *
 * The module is assembled here from opcodes (about 100 instructions) because no wasm toolchain
 * (wabt, binaryen) is installed and a committed binary could not be reviewed. Operands are
 * packed panels (4 rows of A interleaved per k, 8 columns of B contiguous per k) so every inner
 * load has a constant offset and A values load with v128.load32_splat; K is unrolled by two.
 * The kernel covers 4-row tiles [t0, t1) x all 8-column strips for one K block; matmul.ts
 * packs, blocks, copies into linear memory and computes the fringes.
 */

const I32 = 0x7f;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}
const str = (s: string): number[] => [...uleb(s.length), ...new TextEncoder().encode(s)];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

// Instructions.
const get = (l: number) => [0x20, ...uleb(l)];
const set = (l: number) => [0x21, ...uleb(l)];
const i32c = (v: number) => [0x41, ...sleb(v)];
const add = [0x6a];
const mul = [0x6c];
const geS = [0x4e];
const v128load = (off: number) => [0xfd, 0x00, 4, ...uleb(off)];
const v128store = (off: number) => [0xfd, 0x0b, 4, ...uleb(off)];
const f4add = [0xfd, 0xe4, 0x01];
const f4mul = [0xfd, 0xe6, 0x01];
/** f32x4.relaxed_madd (relaxed SIMD, 0xfd 0x105): a*b+c, fused where the CPU has FMA. */
const f4madd = [0xfd, 0x85, 0x02];
const block = [0x02, 0x40];
const loop = [0x03, 0x40];
const end = [0x0b];
const br = (d: number) => [0x0c, d];
const brIf = (d: number) => [0x0d, d];

const splatLoad = (off: number) => [0xfd, 0x09, 2, ...uleb(off)];

// Parameters: pa, pb (packed panels), c (byte pointers), t0, t1 (4-row tiles), strips (8-column
// strips), k0, k1 (K block), k (full K), ldc4 (byte stride of C).
// Packed A: tile t, step p, row r at float (t*k + p)*4 + r; packed B: strip s, step p, column c
// at float (s*k + p)*8 + c. Every load in the inner loop is then at a constant offset.
const [PA, PB, C, T0, T1, NS, K0, K1, KK, LDC] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const [S, T, P, AP, BP, CP] = [10, 11, 12, 13, 14, 15];
const ACC = [16, 17, 18, 19, 20, 21, 22, 23]; // row r, half h -> ACC[2r+h]
const [B0, B1, AV] = [24, 25, 26];
const sub = [0x6b];
const ltS = [0x48];

function rowAddr(r: number): number[] {
  const out = get(CP);
  for (let k = 0; k < r; k++) out.push(...get(LDC), ...add);
  return out;
}

/** One k step at byte offsets (aOff, bOff) from ap/bp: 8 multiply-adds on 4x8 accumulators. */
function step(aOff: number, bOff: number, fma: boolean): number[] {
  const code = [
    ...get(BP),
    ...v128load(bOff),
    ...set(B0),
    ...get(BP),
    ...v128load(bOff + 16),
    ...set(B1),
  ];
  for (let r = 0; r < 4; r++) {
    code.push(...get(AP), ...splatLoad(aOff + 4 * r), ...set(AV));
    for (const [acc, bv] of [
      [ACC[2 * r], B0],
      [ACC[2 * r + 1], B1],
    ]) {
      if (fma) code.push(...get(AV), ...get(bv), ...get(acc), ...f4madd, ...set(acc));
      else code.push(...get(acc), ...get(AV), ...get(bv), ...f4mul, ...f4add, ...set(acc));
    }
  }
  return code;
}

function kernelBody(fma: boolean): number[] {
  const code: number[] = [];
  const emit = (...parts: number[][]) => {
    for (const p of parts) code.push(...p);
  };
  emit(i32c(0), set(S), block, loop, get(S), get(NS), geS, brIf(1));
  emit(get(T0), set(T), block, loop, get(T), get(T1), geS, brIf(1));
  // cp = c + 4t*ldc4 + 32s
  emit(get(C), get(T), i32c(4), mul, get(LDC), mul, add, get(S), i32c(32), mul, add, set(CP));
  for (let r = 0; r < 4; r++) {
    emit(rowAddr(r), v128load(0), set(ACC[2 * r]), rowAddr(r), v128load(16), set(ACC[2 * r + 1]));
  }
  // ap = pa + (t*k + k0)*16 ; bp = pb + (s*k + k0)*32
  emit(get(PA), get(T), get(KK), mul, get(K0), add, i32c(16), mul, add, set(AP));
  emit(get(PB), get(S), get(KK), mul, get(K0), add, i32c(32), mul, add, set(BP));
  // Unrolled by two while two steps remain, then one tail step.
  emit(get(K0), set(P), block, loop, get(K1), get(P), sub, i32c(2), ltS, brIf(1));
  emit(step(0, 0, fma), step(16, 32, fma));
  emit(get(AP), i32c(32), add, set(AP), get(BP), i32c(64), add, set(BP));
  emit(get(P), i32c(2), add, set(P), br(0), end, end);
  emit(block, get(P), get(K1), geS, brIf(0), step(0, 0, fma), end);
  for (let r = 0; r < 4; r++) {
    emit(rowAddr(r), get(ACC[2 * r]), v128store(0), rowAddr(r), get(ACC[2 * r + 1]), v128store(16));
  }
  emit(get(T), i32c(1), add, set(T), br(0), end, end);
  emit(get(S), i32c(1), add, set(S), br(0), end, end);
  code.push(...end);
  const locals = [...uleb(2), ...uleb(6), I32, ...uleb(11), V128];
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

/** The module's bytes: imports env.mem, exports gemm(pa,pb,c,t0,t1,strips,k0,k1,k,ldc4). */
function gemmModuleBytes(fma = false): Uint8Array<ArrayBuffer> {
  const type = [0x60, ...uleb(10), ...new Array(10).fill(I32), 0];
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [1, ...type]),
    ...section(2, [1, ...str("env"), ...str("mem"), 0x02, 0x00, 0x01]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...str("gemm"), 0x00, 0]),
    ...section(10, [1, ...kernelBody(fma)]),
  ];
  return new Uint8Array(bytes);
}

type GemmKernel = (
  pa: number,
  pb: number,
  c: number,
  t0: number,
  t1: number,
  strips: number,
  k0: number,
  k1: number,
  k: number,
  ldc4: number,
) => void;

export interface WasmGemm {
  memory: WebAssembly.Memory;
  kernel: GemmKernel;
  /** True when the kernel uses fused multiply-add (relaxed SIMD). */
  fma: boolean;
  /** The B panels now at offset 0 of `memory` (matmul.ts keeps a reused B resident). */
  resident: Float32Array | null;
}

/**
 * Instantiates the kernel: the fused multiply-add variant where the engine accepts relaxed SIMD
 * (Node >= 22; Node 20 only with --experimental-wasm-relaxed-simd), else baseline SIMD128, or
 * null where WebAssembly SIMD is unavailable.
 */
export function createWasmGemm(allowFma = true): WasmGemm | null {
  if (typeof WebAssembly === "undefined") return null;
  const fmaBytes = gemmModuleBytes(true);
  const bytes = allowFma && WebAssembly.validate(fmaBytes) ? fmaBytes : gemmModuleBytes(false);
  if (!WebAssembly.validate(bytes)) return null;
  const memory = new WebAssembly.Memory({ initial: 1 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: memory } });
  return {
    memory,
    kernel: inst.exports.gemm as GemmKernel,
    fma: bytes === fmaBytes,
    resident: null,
  };
}
