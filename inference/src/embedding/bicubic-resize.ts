/**
 * Antialiased bicubic resize of an 8-bit RGB image, bit-exact with the two implementations
 * transformers' CLIPImageProcessor uses (SPEC §3: CLIP / DreamSim inputs):
 * - "pillow": Pillow's `ImagingResample` (libImaging/Resample.c), the slow processor's path;
 * - "torchvision": PyTorch's uint8 antialiased bicubic kernel (aten UpSampleKernel.cpp,
 *   `_compute_index_ranges_int16_weights`), used by the fast processor, the default in
 *   transformers 5. The fixtures' reference pixel_values match this one exactly.
 * Both: separable, horizontal pass first, bicubic kernel a = -0.5 with support 2 scaled by the
 * downscale factor (antialiasing), weights normalised then quantised to fixed point, 8-bit
 * clamped intermediate. They differ only in the fixed-point precision (Pillow 22 bits; torch
 * the largest precision that keeps every weight in int16, typically 14), which moves a few
 * pixels by one level.
 *
 * Hand-written on purpose: no JavaScript image library reproduces these resamplers (sharp,
 * jimp and canvas use other kernels, no support scaling, or float intermediates).
 */
import { ShapeError } from "@budgetfusion/shared/errors";

/** An interleaved 8-bit RGB image (shared/src/image/rgb-image.ts holds the float [0,1] form). */
export interface Rgb8Image {
  width: number;
  height: number;
  /** [height, width, 3] row-major, 0..255. */
  data: Uint8Array;
}

const BICUBIC_A = -0.5;
const BICUBIC_SUPPORT = 2;
const PILLOW_PRECISION_BITS = 32 - 8 - 2;

export type ResizeFlavor = "pillow" | "torchvision";

function bicubic(x: number): number {
  const ax = Math.abs(x);
  if (ax < 1) return ((BICUBIC_A + 2) * ax - (BICUBIC_A + 3)) * ax * ax + 1;
  if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * BICUBIC_A;
  return 0;
}

interface Coefficients {
  /** first input index per output pixel */
  start: Int32Array;
  /** taps per output pixel */
  count: Int32Array;
  /** fixed-point weights, `ksize` per output pixel */
  weights: Int32Array;
  ksize: number;
  /** fixed-point precision in bits */
  precision: number;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc (torch: the same with int16 weights). */
function coefficients(inSize: number, outSize: number, flavor: ResizeFlavor): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = BICUBIC_SUPPORT * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(outSize * ksize);
  const ss = 1 / filterScale;
  let maxWeight = 0;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C truncation toward zero of a value that may be negative, as (int) does in Pillow.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) * ss);
      k[xx * ksize + x] = w;
      total += w;
    }
    for (let x = 0; x < xmax; x++) {
      if (total !== 0) k[xx * ksize + x] /= total;
      maxWeight = Math.max(maxWeight, k[xx * ksize + x]);
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  const precision = flavor === "pillow" ? PILLOW_PRECISION_BITS : int16Precision(maxWeight);
  for (let i = 0; i < k.length; i++) {
    // Round half away from zero into fixed point (both implementations do).
    weights[i] = Math.trunc(k[i] * 2 ** precision + (k[i] < 0 ? -0.5 : 0.5));
  }
  return { start, count, weights, ksize, precision };
}

/** torch: the largest precision < 22 for which round(2 * maxWeight * 2^p) stays below 2^15. */
function int16Precision(maxWeight: number): number {
  let p = 0;
  for (; p < 22; p++) if (Math.trunc(0.5 + maxWeight * 2 ** (p + 1)) >= 1 << 15) break;
  return p;
}

/** Both add half an output unit, shift right by the precision and clamp to 0..255. */
function clip8(acc: number, scale: number): number {
  // scale = 2^-precision: multiplying by a power of two is exact, like the C shift
  const v = Math.floor(acc * scale);
  return v < 0 ? 0 : Math.min(v, 255);
}

function resizeHorizontal(src: Rgb8Image, outWidth: number, flavor: ResizeFlavor): Rgb8Image {
  const c = coefficients(src.width, outWidth, flavor);
  const out = new Uint8Array(src.height * outWidth * 3);
  const initial = 2 ** (c.precision - 1);
  const scale = 2 ** -c.precision;
  const { weights, start, count, ksize } = c;
  const data = src.data;
  for (let y = 0; y < src.height; y++) {
    const row = y * src.width * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      const base = xx * ksize;
      let r = initial;
      let g = initial;
      let b = initial;
      let p = row + start[xx] * 3;
      for (let x = 0; x < count[xx]; x++, p += 3) {
        const w = weights[base + x];
        r += data[p] * w;
        g += data[p + 1] * w;
        b += data[p + 2] * w;
      }
      const o = (y * outWidth + xx) * 3;
      out[o] = clip8(r, scale);
      out[o + 1] = clip8(g, scale);
      out[o + 2] = clip8(b, scale);
    }
  }
  return { width: outWidth, height: src.height, data: out };
}

function resizeVertical(src: Rgb8Image, outHeight: number, flavor: ResizeFlavor): Rgb8Image {
  const c = coefficients(src.height, outHeight, flavor);
  const out = new Uint8Array(outHeight * src.width * 3);
  const initial = 2 ** (c.precision - 1);
  const stride = src.width * 3;
  // Row-at-a-time accumulation (tap-outer, pixel-inner) so the inner loop walks memory linearly.
  const acc = new Float64Array(stride);
  const scale = 2 ** -c.precision;
  const { weights, start, count, ksize } = c;
  const data = src.data;
  for (let yy = 0; yy < outHeight; yy++) {
    const base = yy * ksize;
    acc.fill(initial);
    for (let y = 0; y < count[yy]; y++) {
      const w = weights[base + y];
      const row = (start[yy] + y) * stride;
      for (let i = 0; i < stride; i++) acc[i] += data[row + i] * w;
    }
    const o = yy * stride;
    for (let i = 0; i < stride; i++) out[o + i] = clip8(acc[i], scale);
  }
  return { width: src.width, height: outHeight, data: out };
}

/**
 * Resize like `PIL.Image.resize((width, height), Image.BICUBIC)` ("pillow") or torchvision's
 * `resize(..., BICUBIC, antialias=True)` on a uint8 tensor ("torchvision").
 */
export function resizeBicubic(
  src: Rgb8Image,
  width: number,
  height: number,
  flavor: ResizeFlavor = "torchvision",
): Rgb8Image {
  if (src.data.length !== src.width * src.height * 3) {
    throw new ShapeError(
      `RGB data has ${src.data.length} bytes, expected ${src.width}x${src.height}x3`,
      {
        field: "image",
      },
    );
  }
  if (!(width >= 1 && height >= 1)) {
    throw new ShapeError(`target size ${width}x${height} must be positive`, { field: "size" });
  }
  // Both skip a pass whose size is unchanged; the horizontal pass always runs first.
  const horizontal = width !== src.width ? resizeHorizontal(src, width, flavor) : src;
  return height !== src.height ? resizeVertical(horizontal, height, flavor) : horizontal;
}
