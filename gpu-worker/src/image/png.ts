/**
 * PNG output of generated images (SPEC §7: the worker returns PNG). float [H,W,3] in [0,1] ->
 * 8-bit RGB as diffusers' numpy_to_pil does ((x * 255).round()), encoded with fast-png.
 */
import { ShapeError } from "@budgetfusion/shared/errors";
import { encode } from "fast-png";

/** Encodes image `index` of a [B,H,W,3] float batch as an RGB PNG. */
export function encodeImagePng(
  images: Float32Array,
  dims: readonly number[],
  index: number,
): Uint8Array {
  const [b, h, w, c] = dims;
  if (dims.length !== 4 || c !== 3 || index < 0 || index >= b) {
    throw new ShapeError(`cannot take image ${index} of [${dims}] (need [B,H,W,3])`, {
      field: "image",
    });
  }
  const n = h * w * 3;
  const rgb = new Uint8Array(n);
  const offset = index * n;
  for (let i = 0; i < n; i++) {
    const v = Math.round(images[offset + i] * 255);
    rgb[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return encode({ width: w, height: h, data: rgb, channels: 3, depth: 8 });
}
