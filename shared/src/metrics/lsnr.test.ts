import { describe, expect, it } from "vitest";
import { ShapeError, ValidationError } from "../errors";
import type { RgbImage } from "../image/rgb-image";
import { gaussianBlur, gaussianKernel, lsnr } from "./lsnr";

/** Gray RGB image (R = G = B = f(x, y)), so Y = f up to the luma weights' float sum. */
function grayImage(width: number, height: number, f: (x: number, y: number) => number): RgbImage {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      data.fill(f(x, y), (y * width + x) * 3, (y * width + x) * 3 + 3);
  return { data, width, height };
}

/** Deterministic pseudo-random values in [0, 1) (sin hash; no statistics needed here). */
const hash = (x: number, y: number) => {
  const v = Math.sin(x * 12.9898 + y * 78.233) * 43758.5453;
  return v - Math.floor(v);
};

describe("gaussianKernel", () => {
  it("is exp(-j^2/2) for j = -3..3, normalised", () => {
    const k = gaussianKernel();
    const raw = [3, 2, 1, 0, 1, 2, 3].map((j) => Math.exp(-(j * j) / 2));
    const sum = raw.reduce((a, b) => a + b, 0); // 2.5059...
    expect(k.length).toBe(7);
    for (const [i, v] of k.entries()) expect(v).toBeCloseTo(raw[i] / sum, 15);
    expect(k[3]).toBeCloseTo(0.39905, 5);
  });
});

describe("gaussianBlur padding", () => {
  it("uses scipy 'reflect' (edge pixel repeated), not reflect-101", () => {
    // A single row [1, 0, 0, 0, 0, 0, 0, 0]: with half-sample reflection the padded row is
    // ... 0 0 1 | 1 0 0 ..., so B(0) = k0 + k1 (taps at offsets 0 and -1 both see the 1).
    // With reflect-101 it would be k0 alone at offset 0. B(1) = k1 + k2 (offsets -1 and -2).
    const k = gaussianKernel();
    const row = Float64Array.from([1, 0, 0, 0, 0, 0, 0, 0]);
    const b = gaussianBlur(row, 8, 1); // height 1: the vertical pass reflects onto itself
    expect(b[0]).toBeCloseTo(k[3] + k[2], 15);
    expect(b[1]).toBeCloseTo(k[2] + k[1], 15);
    expect(b[2]).toBeCloseTo(k[1] + k[0], 15);
    expect(b[3]).toBeCloseTo(k[0], 15);
    expect(b[4]).toBe(0);
  });
});

describe("lsnr", () => {
  it("is 1 for a constant image (S = N = 0: no detail at all, quality 1 - L-SNR = 0)", () => {
    expect(lsnr(grayImage(16, 9, () => 0.37))).toBe(1);
    expect(lsnr(grayImage(1, 1, () => 1))).toBe(1);
    expect(lsnr(grayImage(5, 4, () => 0))).toBe(1);
  });

  it("is the signal share S / (S + N), not the first SPEC's N / (S + N)", () => {
    // S and N summed here from gaussianBlur's output, the way SPEC §3 writes them.
    const img = grayImage(24, 17, (x, y) => 0.5 * hash(x, y) + 0.4 * Math.sin(x / 5 + y / 7));
    const yPlane = Float64Array.from({ length: 24 * 17 }, (_, p) => img.data[3 * p]);
    const b = gaussianBlur(yPlane, 24, 17);
    const meanB = b.reduce((a, v) => a + v, 0) / b.length;
    let s = 0;
    let n = 0;
    for (let p = 0; p < b.length; p++) {
      s += (b[p] - meanB) ** 2;
      n += (yPlane[p] - b[p]) ** 2;
    }
    // Gray pixels: Y = (0.2126 + 0.7152 + 0.0722) v, a float sum within 1e-16 of v.
    expect(lsnr(img)).toBeCloseTo(s / (s + n), 12);
    expect(Math.abs(lsnr(img) - n / (s + n))).toBeGreaterThan(0.1);
  });

  it("matches the hand-derived value for a 1-px checkerboard", () => {
    // Y(x,y) = (x + y) mod 2 = (1 - s_x s_y)/2 with s_x = (-1)^x. Blur is linear and separable
    // and maps 1 to 1, so B = (1 - g(x) g(y))/2, where g is the 1-D blur of the +-1 sequence s
    // with reflect padding (s(-1) = s(0), s(-2) = s(1), ...). Working the 7 taps out by hand,
    // with k_j the normalised kernel:
    //   g(0) = k0                 (the reflected taps cancel in pairs)
    //   g(1) = -k0 + 2 k1
    //   g(2) = k0 - 2 k1 + 2 k2
    //   g(x) = s_x (k0 - 2 k1 + 2 k2 - 2 k3)   for 3 <= x <= n - 4 (no padding reached)
    //   g(n - 1 - i) = (-1)^(n-1) g(i)          (the padding is symmetric about the centre)
    // Then D = Y - B = (g_x g_y - s_x s_y)/2 and B - mean(B) = -(g_x g_y - mean(g g))/2.
    const k = gaussianKernel();
    const [k0, k1, k2, k3] = [k[3], k[4], k[5], k[6]];
    const g1d = (n: number) => {
      const g = new Float64Array(n);
      const edge = [k0, -k0 + 2 * k1, k0 - 2 * k1 + 2 * k2];
      for (let x = 0; x < n; x++) g[x] = (x % 2 === 0 ? 1 : -1) * (k0 - 2 * k1 + 2 * k2 - 2 * k3);
      for (let i = 0; i < 3; i++) {
        g[i] = edge[i];
        g[n - 1 - i] = (n % 2 === 0 ? -1 : 1) * edge[i];
      }
      return g;
    };
    for (const [w, h] of [
      [8, 8],
      [9, 6],
      [32, 20],
    ]) {
      const gx = g1d(w);
      const gy = g1d(h);
      let meanGG = 0;
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) meanGG += gx[x] * gy[y];
      meanGG /= w * h;
      let detail = 0;
      let structure = 0;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const s = ((x + y) % 2 === 0 ? 1 : -1) as number;
          detail += ((gx[x] * gy[y] - s) / 2) ** 2;
          structure += ((gx[x] * gy[y] - meanGG) / 2) ** 2;
        }
      }
      const expected = structure / (detail + structure);
      expect(lsnr(grayImage(w, h, (x, y) => (x + y) % 2))).toBeCloseTo(expected, 10);
    }
    // Independent cross-check: scipy.ndimage.gaussian_filter(Y, 1, truncate=3) on the 8x8
    // checkerboard gives N/(S+N) = 0.9982317307465326 (the first SPEC's L-SNR), so S/(S+N) is
    // 1 minus it: almost all of a 1-px checkerboard is detail.
    expect(lsnr(grayImage(8, 8, (x, y) => (x + y) % 2))).toBeCloseTo(1 - 0.9982317307465326, 12);
  });

  it("a linear ramp is almost all signal: detail only where the padding bends it", () => {
    // The symmetric kernel reproduces a linear function exactly away from the border, so D = 0
    // on columns 3..n-4 and L-SNR is close to 1.
    const ramp = grayImage(64, 16, (x) => x / 63);
    expect(lsnr(ramp)).toBeLessThan(1);
    expect(lsnr(ramp)).toBeGreaterThan(0.99);
  });

  it("blurring an image raises it (less detail: lower quality 1 - L-SNR)", () => {
    const sharp = grayImage(40, 30, hash);
    const box = grayImage(40, 30, (x, y) => {
      let acc = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) acc += hash(x + dx, y + dy);
      return acc / 9;
    });
    const a = lsnr(sharp);
    const b = lsnr(box);
    expect(a).toBeLessThan(0.2); // white-ish noise: most variation is fine detail
    expect(b).toBeGreaterThan(a);
    expect(b).toBeLessThan(1);
  });

  it("stays within [0, 1] and uses Rec. 709 luminance (a pure-blue pattern scores like gray)", () => {
    const blue: RgbImage = { data: new Float32Array(8 * 8 * 3), width: 8, height: 8 };
    for (let p = 0; p < 64; p++) blue.data[p * 3 + 2] = ((p % 8) + Math.floor(p / 8)) % 2;
    // Y = 0.0722 * checkerboard: L-SNR is scale-invariant, so it equals the gray one.
    expect(lsnr(blue)).toBeCloseTo(1 - 0.9982317307465326, 12);
  });

  it("rejects malformed images naming the field", () => {
    expect(() => lsnr({ data: new Float32Array(5), width: 2, height: 1 })).toThrow(ShapeError);
    expect(() => lsnr({ data: new Float32Array(6), width: 0, height: 1 })).toThrow(
      expect.objectContaining({ name: "ValidationError", field: "image.width" }),
    );
    expect(() => lsnr({ data: [0, 0, 0] as unknown as Float32Array, width: 1, height: 1 })).toThrow(
      ValidationError,
    );
  });
});
