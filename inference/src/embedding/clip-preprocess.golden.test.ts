import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  FIXTURES,
  fixturePath,
  maxAbsDiff,
  readF32,
  readJson,
} from "@budgetfusion/test-helpers/fixtures";
import { decode } from "fast-png";
import { describe, expect, it } from "vitest";
import { createNodeOrt } from "../runtime/ort-node";
import { resizeBicubic } from "./bicubic-resize";
import { parsePreprocessorConfig, preprocessImage } from "./clip-preprocess";
import { loadImageEmbedder } from "./image-embedder";

interface ClipRef {
  images: string[];
  pixel_values: { file: string; shape: number[] };
  image_embeds: { file: string; shape: number[] };
}

const REFS = join(FIXTURES, "refs-public");
const ref = readJson<ClipRef>("refs-public", "clip.json");

function readRgb(name: string) {
  const png = decode(readFileSync(join(REFS, name)));
  const data = new Uint8Array(png.width * png.height * 3);
  for (let p = 0; p < png.width * png.height; p++) {
    for (let c = 0; c < 3; c++) data[p * 3 + c] = Number(png.data[p * png.channels + c]);
  }
  return { width: png.width, height: png.height, data };
}

describe("CLIP image preprocessing", () => {
  const cfg = parsePreprocessorConfig(
    JSON.parse(readFileSync(fixturePath("tiny-clip", "preprocessor_config.json"), "utf8")),
  );
  const pixels = readF32(REFS, ref.pixel_values).data;
  const plane = 3 * 224 * 224;

  it.each(ref.images.map((name, i) => [name, i] as const))(
    "reproduces the reference pixel_values of %s (<= 1e-6: float rounding only)",
    (name, i) => {
      const got = preprocessImage(readRgb(name), cfg);
      expect(maxAbsDiff(got, pixels.subarray(i * plane, (i + 1) * plane))).toBeLessThanOrEqual(
        1e-6,
      );
    },
  );

  it("Pillow's 22-bit flavour differs from the reference by at most one 8-bit level", () => {
    // One level after normalisation is 1/255/std <= 0.0146; Pillow rounds a few pixels differently.
    const got = preprocessImage(readRgb("gradient_160x96.png"), cfg, "pillow");
    const err = maxAbsDiff(got, pixels.subarray(0, plane));
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(1 / 255 / 0.268 + 1e-6);
  });

  it("resizes by hand-computed bicubic weights: 2 -> 4 pixels upsample", () => {
    // Upscale 2 -> 4 (scale 0.5, support 2). Kernel a=-0.5: w(.25)=.8672, w(.75)=.2266,
    // w(1.25)=-.0703. Output 1 (centre .75): taps .8672/.2266 -> 200*.2072 = 41.4 -> 41.
    // Output 2: 200*.7928 = 158.6 -> 159. Output 3 (centre 1.75): taps -.0703/.8672, normalised
    // -.0882/1.0882 -> 217.6 -> 218 (overshoot). Output 0 mirrors it: -17.6 clamps to 0.
    const src = { width: 2, height: 1, data: new Uint8Array([0, 0, 0, 200, 200, 200]) };
    const out = resizeBicubic(src, 4, 1, "pillow");
    expect(Array.from(out.data.filter((_, i) => i % 3 === 0))).toEqual([0, 41, 159, 218]);
  });

  it("tiny-clip's vision model maps the reference pixel_values to the reference image_embeds (<= 1e-5)", async () => {
    const embedder = await loadImageEmbedder(createNodeOrt(1), join(FIXTURES, "tiny-clip"));
    const got = await embedder.embedPixels(pixels, 3);
    await embedder.release();
    expect(maxAbsDiff(got, readF32(REFS, ref.image_embeds).data)).toBeLessThanOrEqual(1e-5);
  });
});

describe("DreamSim-style preprocessing (fixed size, no crop, no normalisation, Pillow)", () => {
  it("resizes to 224x224 with Pillow's bicubic and only rescales", () => {
    const cfg = parsePreprocessorConfig({
      size: { height: 224, width: 224 },
      do_center_crop: false,
      do_normalize: false,
      resample_backend: "pillow",
    });
    const img = readRgb("gradient_160x96.png");
    const got = preprocessImage(img, cfg);
    const resized = resizeBicubic(img, 224, 224, "pillow");
    expect(got).toHaveLength(3 * 224 * 224);
    // channel 1, pixel (10, 20): the 8-bit resized value / 255
    expect(got[224 * 224 + 10 * 224 + 20]).toBeCloseTo(
      resized.data[(10 * 224 + 20) * 3 + 1] / 255,
      7,
    );
  });
});
