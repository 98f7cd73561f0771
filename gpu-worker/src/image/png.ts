/**
 * PNG output of generated images (SPEC §7: the worker returns PNG): one image of a [B,H,W,3]
 * float batch through the shared encoder (diffusers' numpy_to_pil rounding).
 */
import { ShapeError } from "@budgetfusion/shared/errors";
import { encodeRgbToPng } from "@budgetfusion/shared/image/png-image";

/** Encodes image `index` of a [B,H,W,3] float batch in [0,1] as an 8-bit RGB PNG. */
export function encodeImagePng(
  images: Float32Array,
  dims: readonly number[],
  index: number,
): Uint8Array {
  const [b, h, w, c] = dims;
  if (dims.length !== 4 || c !== 3 || !Number.isInteger(index) || index < 0 || index >= b) {
    throw new ShapeError(`cannot take image ${index} of [${dims}] (need [B,H,W,3])`, {
      field: "image",
    });
  }
  const n = h * w * 3;
  return encodeRgbToPng({ data: images.subarray(index * n, (index + 1) * n), width: w, height: h });
}
