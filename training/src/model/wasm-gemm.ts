/**
 * WebAssembly SIMD GEMM kernel: C[M,N] (+)= A[M,K] · B[K,N] (row-major, float32), the hot loop
 * of predictor training (SPEC §4). Why: plain JS tops out near 2.5-4 GFLOP/s per core, far from
 * the paper-size goal; a 4x8 register tile with f32x4 vectors (4 broadcast A values x 2 B
 * vectors, 8 accumulators) is the standard micro-kernel shape and needs only baseline SIMD128.
 *
 * The module is assembled here from opcodes (about 60 instructions) because no wasm toolchain
 * (wabt, binaryen) is installed and a committed binary could not be reviewed. The kernel covers
 * rows [i0, i1) (multiple of 4) x columns [0, n8) (multiple of 8) for one K block; matmul.ts
 * does the blocking, the copies into linear memory and the fringes.
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
const f32load = [0x2a, 2, 0];
const v128load = (off: number) => [0xfd, 0x00, 4, ...uleb(off)];
const v128store = (off: number) => [0xfd, 0x0b, 4, ...uleb(off)];
const splat = [0xfd, 0x13];
const f4add = [0xfd, 0xe4, 0x01];
const f4mul = [0xfd, 0xe6, 0x01];
const block = [0x02, 0x40];
const loop = [0x03, 0x40];
const end = [0x0b];
const br = (d: number) => [0x0c, d];
const brIf = (d: number) => [0x0d, d];

// Parameters: a, b, c (byte pointers), i0, i1, n8, k0, k1, lda4, ldb4, ldc4 (byte strides).
const [A, B, C, I0, I1, N8, K0, K1, LDA, LDB, LDC] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
// Locals.
const [J, I, K, AP0, AP1, AP2, AP3, BP, CP] = [11, 12, 13, 14, 15, 16, 17, 18, 19];
const ACC = [20, 21, 22, 23, 24, 25, 26, 27]; // c{row}{half}: row r, half h -> ACC[2r+h]
const [B0, B1, AV] = [28, 29, 30];

function rowAddr(r: number): number[] {
  // cp + r*ldc4
  const out = get(CP);
  for (let k = 0; k < r; k++) out.push(...get(LDC), ...add);
  return out;
}

function kernelBody(): number[] {
  const code: number[] = [];
  const emit = (...parts: number[][]) => {
    for (const p of parts) code.push(...p);
  };
  emit(i32c(0), set(J), block, loop, get(J), get(N8), geS, brIf(1));
  emit(get(I0), set(I), block, loop, get(I), get(I1), geS, brIf(1));
  // cp = c + i*ldc4 + j*4
  emit(get(C), get(I), get(LDC), mul, add, get(J), i32c(4), mul, add, set(CP));
  for (let r = 0; r < 4; r++) {
    emit(rowAddr(r), v128load(0), set(ACC[2 * r]), rowAddr(r), v128load(16), set(ACC[2 * r + 1]));
  }
  // ap0 = a + i*lda4 + k0*4; ap{r} = ap{r-1} + lda4
  emit(get(A), get(I), get(LDA), mul, add, get(K0), i32c(4), mul, add, set(AP0));
  emit(
    get(AP0),
    get(LDA),
    add,
    set(AP1),
    get(AP1),
    get(LDA),
    add,
    set(AP2),
    get(AP2),
    get(LDA),
    add,
    set(AP3),
  );
  // bp = b + k0*ldb4 + j*4
  emit(get(B), get(K0), get(LDB), mul, add, get(J), i32c(4), mul, add, set(BP));
  emit(get(K0), set(K), block, loop, get(K), get(K1), geS, brIf(1));
  emit(get(BP), v128load(0), set(B0), get(BP), v128load(16), set(B1));
  const aps = [AP0, AP1, AP2, AP3];
  for (let r = 0; r < 4; r++) {
    emit(get(aps[r]), f32load, splat, set(AV));
    emit(get(ACC[2 * r]), get(AV), get(B0), f4mul, f4add, set(ACC[2 * r]));
    emit(get(ACC[2 * r + 1]), get(AV), get(B1), f4mul, f4add, set(ACC[2 * r + 1]));
  }
  for (const p of aps) emit(get(p), i32c(4), add, set(p));
  emit(get(BP), get(LDB), add, set(BP), get(K), i32c(1), add, set(K), br(0), end, end);
  for (let r = 0; r < 4; r++) {
    emit(rowAddr(r), get(ACC[2 * r]), v128store(0), rowAddr(r), get(ACC[2 * r + 1]), v128store(16));
  }
  emit(get(I), i32c(4), add, set(I), br(0), end, end);
  emit(get(J), i32c(8), add, set(J), br(0), end, end);
  code.push(...end);
  const locals = [...uleb(2), ...uleb(9), I32, ...uleb(11), V128];
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

/** The module's bytes: imports env.mem, exports gemm(a,b,c,i0,i1,n8,k0,k1,lda4,ldb4,ldc4). */
export function gemmModuleBytes(): Uint8Array<ArrayBuffer> {
  const type = [0x60, ...uleb(11), ...new Array(11).fill(I32), 0];
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
    ...section(10, [1, ...kernelBody()]),
  ];
  return new Uint8Array(bytes);
}

export type GemmKernel = (
  a: number,
  b: number,
  c: number,
  i0: number,
  i1: number,
  n8: number,
  k0: number,
  k1: number,
  lda4: number,
  ldb4: number,
  ldc4: number,
) => void;

export interface WasmGemm {
  memory: WebAssembly.Memory;
  kernel: GemmKernel;
}

/** Instantiates the kernel, or null where WebAssembly SIMD is unavailable. */
export function createWasmGemm(): WasmGemm | null {
  const bytes = gemmModuleBytes();
  if (typeof WebAssembly === "undefined" || !WebAssembly.validate(bytes)) return null;
  const memory = new WebAssembly.Memory({ initial: 1 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: memory } });
  return { memory, kernel: inst.exports.gemm as GemmKernel };
}
