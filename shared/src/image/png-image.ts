/**
 * PNG <-> RgbImage (SPEC §2 image output, §3 metric input), with fast-png (pure JS, no node:*,
 * so it runs in workerd, Node and the browser alike).
 *
 * Decoding accepts 8- and 16-bit grayscale, grayscale+alpha, RGB and RGBA, and palette images;
 * values are scaled by 1/(2^depth - 1). Alpha is dropped (not composited): the images this
 * system produces are opaque, and L-SNR is defined on the colour channels only.
 * Encoding writes 8-bit RGB with value = round(clamp(x, 0, 1) * 255) exactly as diffusers'
 * numpy_to_pil computes it on float32 arrays: the product is rounded to float32 and numpy's
 * round() sends ties to even. A float64 product differs on rare pixels (one in the fixtures).
 */
import { convertIndexedToRgb, decode, encode } from "fast-png";
import { ShapeError, ValidationError } from "../errors";
import { checkRgbImage, type RgbImage } from "./rgb-image";

/** Decodes PNG bytes to RGB floats in [0, 1]. Throws ValidationError on bytes that are no PNG. */
export function decodePngToRgb(bytes: Uint8Array): RgbImage {
  if (!(bytes instanceof Uint8Array)) {
    throw new ValidationError("png must be a Uint8Array", { field: "png" });
  }
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
  } catch (cause) {
    throw new ValidationError(`not a decodable PNG: ${String(cause)}`, { field: "png", cause });
  }
  const { width, height } = png;
  let samples: ArrayLike<number> = png.data;
  let channels = png.channels;
  let maxValue = 2 ** png.depth - 1;
  if (png.palette !== undefined) {
    samples = convertIndexedToRgb(png);
    channels = png.palette[0]?.length ?? 3;
    maxValue = 255;
  } else if (png.depth < 8) {
    // fast-png leaves sub-byte samples packed; no producer of ours writes them.
    throw new ValidationError(`unsupported PNG bit depth ${png.depth} (8 or 16 expected)`, {
      field: "png",
    });
  }
  if (channels < 1 || channels > 4 || samples.length !== width * height * channels) {
    throw new ValidationError(`unsupported PNG layout: ${channels} channels`, { field: "png" });
  }

  const data = new Float32Array(width * height * 3);
  const gray = channels <= 2; // 1: gray, 2: gray + alpha, 3: RGB, 4: RGBA
  for (let p = 0, s = 0; p < width * height; p++, s += channels) {
    for (let c = 0; c < 3; c++) data[p * 3 + c] = samples[gray ? s : s + c] / maxValue;
  }
  return { data, width, height };
}

/** numpy's round(): ties go to the even integer. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** 8-bit RGB samples of an image: values clamped to [0, 1], then rounded as numpy does. */
export interface Rgb8Image {
  data: Uint8Array;
  width: number;
  height: number;
}

/** The 8-bit samples a PNG of `image` holds (the quantisation half of encodeRgbToPng). */
export function quantizeRgb8(image: RgbImage): Rgb8Image {
  checkRgbImage(image);
  const bytes = new Uint8Array(image.data.length);
  for (let i = 0; i < bytes.length; i++) {
    const x = image.data[i];
    if (Number.isNaN(x)) {
      throw new ValidationError(`image.data[${i}] is NaN`, { field: `image.data[${i}]` });
    }
    bytes[i] = roundHalfEven(Math.fround(Math.fround(Math.min(1, Math.max(0, x))) * 255));
  }
  return { data: bytes, width: image.width, height: image.height };
}

/**
 * The compression half: 8-bit RGB samples as PNG bytes. The slow half (deflate: tens to hundreds
 * of ms for a large image), so the GPU worker runs it on a thread (gpu-worker/src/png/).
 */
function encodeRgb8Png(image: Rgb8Image): Uint8Array {
  return encode({
    width: image.width,
    height: image.height,
    data: image.data,
    channels: 3,
    depth: 8,
  });
}

/** Encodes an RgbImage as an 8-bit RGB PNG; values are clamped to [0, 1], then rounded. */
export function encodeRgbToPng(image: RgbImage): Uint8Array {
  return encodeRgb8Png(quantizeRgb8(image));
}

/** Image `index` of a [B,H,W,3] float batch in [0,1] (the SD pipeline's output). */
export function batchImage(images: Float32Array, dims: readonly number[], index: number): RgbImage {
  const [b, h, w, c] = dims;
  if (dims.length !== 4 || c !== 3 || !Number.isInteger(index) || index < 0 || index >= b) {
    throw new ShapeError(`cannot take image ${index} of [${dims}] (need [B,H,W,3])`, {
      field: "image",
    });
  }
  const n = h * w * 3;
  return { data: images.subarray(index * n, (index + 1) * n), width: w, height: h };
}

/**
 * Encodes image `index` of a [B,H,W,3] float batch in [0,1] (the SD pipeline's output) as an 8-bit
 * RGB PNG (SPEC §7: the worker returns PNG).
 */
export function encodeImagePng(
  images: Float32Array,
  dims: readonly number[],
  index: number,
): Uint8Array {
  return encodeRgbToPng(batchImage(images, dims, index));
}
