/**
 * L-SNR (shared/src/metrics/lsnr.ts) and the PNG codec (shared/src/image/png-image.ts) against
 * the fixtures. The reference values were computed with numpy 2.4 / scipy 1.17 as
 *
 *   Y = 0.2126 R + 0.7152 G + 0.0722 B                      (float64)
 *   B = scipy.ndimage.gaussian_filter(Y, 1.0, truncate=3.0, mode="reflect")
 *   R = sum((Y-B)^2) / (sum((Y-B)^2) + sum((B - B.mean())^2))      N / (S + N)
 *
 * on the float32 `image` arrays of refs-public/pipeline.json and on the PNGs (decoded by an
 * independent zlib + PNG-filter decoder, values float32(level / 255) as decodePngToRgb stores
 * them). R is the first SPEC's L-SNR, N / (S + N); SPEC §3 revised defines L-SNR = S / (S + N)
 * = 1 - R, so every test asserts lsnr = 1 - R. Tolerance 1e-10 absolute (both sides are
 * float64; only the summation order differs).
 */
import { readFileSync } from "node:fs";
import { decodePngToRgb, encodeRgbToPng } from "@budgetfusion/shared/image/png-image";
import { lsnr, lsnrOfPng } from "@budgetfusion/shared/metrics/lsnr";
import {
  type ArrayRef,
  fixturePath,
  maxAbsDiff,
  readF32,
  readJson,
} from "@budgetfusion/test-helpers/fixtures";
import { describe, expect, it } from "vitest";

interface PipelineCase {
  name: string;
  image: ArrayRef;
  png: string[];
}
const dir = fixturePath("refs-public");
const cases = readJson<{ cases: PipelineCase[] }>("refs-public", "pipeline.json").cases;
const png = (file: string) => new Uint8Array(readFileSync(fixturePath("refs-public", file)));

/** scipy reference N / (S + N) of each pipeline image (case name, batch index). */
const SCIPY_NOISE_SHARE: Record<string, number[]> = {
  wall_1: [0.6023973767706358],
  park_5: [0.6392822308644551],
  cows_22: [0.5249081637520397],
  batch_3: [0.5606364454677115, 0.5994511526965631],
  fruit_eps_9: [0.3445090806581589],
};

/** Image b of a [B, H, W, 3] fixture array. */
function imageAt(c: PipelineCase, b: number) {
  const { data, shape } = readF32(dir, c.image);
  const [, height, width] = shape;
  const n = height * width * 3;
  return { data: data.slice(b * n, (b + 1) * n), width, height };
}

describe("L-SNR vs scipy on the pipeline images", () => {
  for (const c of cases) {
    it(`${c.name}`, () => {
      const noiseShares = SCIPY_NOISE_SHARE[c.name];
      expect(noiseShares.length).toBe(c.png.length);
      noiseShares.forEach((ref, b) => {
        expect(Math.abs(lsnr(imageAt(c, b)) - (1 - ref))).toBeLessThan(1e-10);
      });
    });
  }
});

describe("L-SNR of PNG fixtures", () => {
  it("gradient_160x96.png is high (a smooth ramp, all signal): 1 - scipy 1.4643870279559675e-05", () => {
    const v = lsnrOfPng(png("gradient_160x96.png"));
    expect(Math.abs(v - (1 - 1.4643870279559675e-5))).toBeLessThan(1e-10);
    expect(v).toBeGreaterThan(0.99);
  });

  it("noise_150x200.png is low (white noise, mostly detail): 1 - scipy 0.9024094910602083", () => {
    const v = lsnrOfPng(png("noise_150x200.png"));
    expect(Math.abs(v - (1 - 0.9024094910602083))).toBeLessThan(1e-10);
    expect(v).toBeLessThan(0.2);
  });

  it("wall_1_0.png: 1 - scipy 0.6024217952796367 (8-bit quantised, close to the float image)", () => {
    expect(Math.abs(lsnrOfPng(png("wall_1_0.png")) - (1 - 0.6024217952796367))).toBeLessThan(1e-10);
  });

  it("a constant image is 1 (S = N = 0; scipy's ratio would be 0/0)", () => {
    const flat = { data: new Float32Array(12 * 10 * 3).fill(0.42), width: 12, height: 10 };
    expect(lsnr(flat)).toBe(1);
    expect(lsnrOfPng(encodeRgbToPng(flat))).toBe(1);
  });
});

describe("PNG codec vs the pipeline's PNGs", () => {
  for (const c of cases) {
    it(`${c.name}: decode matches image/255 quantisation, encode reproduces the pixels`, () => {
      c.png.forEach((file, b) => {
        const ref = imageAt(c, b);
        const decoded = decodePngToRgb(png(file));
        expect([decoded.width, decoded.height]).toEqual([ref.width, ref.height]);
        // diffusers writes round(x * 255): the PNG is within half a level of the float image.
        expect(maxAbsDiff(decoded.data, ref.data)).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
        // Encoding the float image gives the same 8-bit pixels as diffusers' PNG.
        const ours = decodePngToRgb(encodeRgbToPng(ref));
        expect(maxAbsDiff(ours.data, decoded.data)).toBe(0);
      });
    });
  }
});
