/**
 * L-SNR, the pixel-level perceptual metric (SPEC §3 Decision, revised; paper Sec. 3.2 Eq. 2):
 *
 *   Y = 0.2126 R + 0.7152 G + 0.0722 B          (Rec. 709 luminance, image in [0, 1])
 *   B = Gaussian blur of Y, sigma 1, 7 taps (offsets -3..3, normalised), separable
 *   D = Y - B
 *   S = sum((B - mean(B))^2)    (signal: the smooth structure)
 *   N = sum(D^2)                (the Laplacian residual, "noise": fine detail)
 *   L-SNR = S / (S + N)   in [0, 1]; 1 for a constant image (no detail at all)
 *
 * The share of the image's luminance variation that is smooth structure: low for sharp or
 * noisy images, high for blurry or smooth ones, so lower is better and the quality
 * q = 1 - L-SNR = N / (S + N) is the share of detail energy. No reference image is needed.
 * The first SPEC defined L-SNR as N / (S + N), exactly 1 - this value (lsnr-definition.ts).
 *
 * Padding convention: scipy.ndimage's default mode="reflect", i.e. half-sample symmetric
 * (d c b a | a b c d | d c b a): the edge pixel is repeated. This is NOT "mirror"/reflect-101
 * (d c b | a b c d), which skips it. With it, this function equals
 * `scipy.ndimage.gaussian_filter(Y, sigma=1, truncate=3.0)` for B (test/golden/lsnr.test.ts).
 * Hand-written because it is twenty lines of arithmetic that must match that convention exactly;
 * accumulation is in float64.
 */

import { decodePngToRgb } from "../image/png-image";
import { checkRgbImage, type RgbImage } from "../image/rgb-image";

const LUMA_REC709 = Object.freeze([0.2126, 0.7152, 0.0722] as const);
const LSNR_SIGMA = 1;
const LSNR_RADIUS = 3;

/** The normalised 7-tap Gaussian, taps at -3..3: k_j = exp(-j^2 / 2) / sum. */
export function gaussianKernel(sigma = LSNR_SIGMA, radius = LSNR_RADIUS): Float64Array {
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let j = -radius; j <= radius; j++) {
    k[j + radius] = Math.exp(-(j * j) / (2 * sigma * sigma));
    sum += k[j + radius];
  }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** scipy "reflect" index: period 2n, the second half mirrored (edge pixel repeated). */
function reflectIndex(i: number, n: number): number {
  const period = 2 * n;
  const m = ((i % period) + period) % period;
  return m < n ? m : period - 1 - m;
}

/** 1-D convolution of `n` samples spaced `stride` apart from `offset`, into `out`. */
function blurLine(
  src: Float64Array,
  out: Float64Array,
  offset: number,
  stride: number,
  n: number,
  kernel: Float64Array,
): void {
  const r = (kernel.length - 1) >> 1;
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let j = -r; j <= r; j++) {
      const k = i + j;
      // Only the r samples at each end need the (slow, modulo) reflection.
      acc += kernel[j + r] * src[offset + (k >= 0 && k < n ? k : reflectIndex(k, n)) * stride];
    }
    out[offset + i * stride] = acc;
  }
}

/** Rec. 709 luminance of an HWC RGB image, float64, row-major [height, width]. */
function luminance(image: RgbImage): Float64Array {
  checkRgbImage(image);
  const [wr, wg, wb] = LUMA_REC709;
  const y = new Float64Array(image.width * image.height);
  for (let p = 0; p < y.length; p++) {
    const d = image.data;
    y[p] = wr * d[3 * p] + wg * d[3 * p + 1] + wb * d[3 * p + 2];
  }
  return y;
}

/** Separable Gaussian blur (sigma 1, 7 taps, scipy "reflect" padding) of a [height, width] plane. */
export function gaussianBlur(plane: Float64Array, width: number, height: number): Float64Array {
  const kernel = gaussianKernel();
  const rows = new Float64Array(plane.length);
  for (let yy = 0; yy < height; yy++) blurLine(plane, rows, yy * width, 1, width, kernel);
  const out = new Float64Array(plane.length);
  for (let x = 0; x < width; x++) blurLine(rows, out, x, width, height, kernel);
  return out;
}

/** L-SNR of an RGB image in [0, 1] (see module header); 1 for a constant image. */
export function lsnr(image: RgbImage): number {
  const y = luminance(image);
  // Exactly constant luminance: the ratio is 0/0 in exact arithmetic (SPEC §3: defined as 1, no
  // detail at all); computed, it would be the ratio of float64 rounding residues.
  let constant = true;
  for (let p = 1; p < y.length && constant; p++) constant = y[p] === y[0];
  if (constant) return 1;

  const b = gaussianBlur(y, image.width, image.height);
  let meanB = 0;
  for (const v of b) meanB += v;
  meanB /= b.length;
  let detail = 0;
  let structure = 0;
  for (let p = 0; p < y.length; p++) {
    detail += (y[p] - b[p]) ** 2;
    structure += (b[p] - meanB) ** 2;
  }
  const total = detail + structure;
  return total === 0 ? 1 : structure / total;
}

/** L-SNR of a PNG (8/16-bit gray, RGB, RGBA or palette; alpha ignored). */
export function lsnrOfPng(bytes: Uint8Array): number {
  return lsnr(decodePngToRgb(bytes));
}
