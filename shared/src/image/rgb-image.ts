/**
 * The image type the metrics and PNG codec exchange (SPEC §3): RGB, height x width x 3
 * (HWC, row-major), float values in [0, 1] — the layout diffusers' pipelines return.
 */
import { ShapeError, ValidationError } from "../errors";

export interface RgbImage {
  /** HWC row-major, length height * width * 3, values in [0, 1]. */
  data: Float32Array;
  width: number;
  height: number;
}

/** Checks dimensions and data length; throws naming `field.width`, `field.data`, ... */
export function checkRgbImage(image: RgbImage, field = "image"): void {
  if (image === null || typeof image !== "object") {
    throw new ValidationError(`${field} must be an {data, width, height} object`, { field });
  }
  for (const key of ["width", "height"] as const) {
    const v = image[key];
    if (!Number.isInteger(v) || v < 1) {
      throw new ValidationError(`${field}.${key} must be a positive integer, got ${v}`, {
        field: `${field}.${key}`,
      });
    }
  }
  if (!(image.data instanceof Float32Array)) {
    throw new ValidationError(`${field}.data must be a Float32Array`, { field: `${field}.data` });
  }
  const expected = image.width * image.height * 3;
  if (image.data.length !== expected) {
    throw new ShapeError(
      `${field}.data has ${image.data.length} values, ${image.height}x${image.width}x3 needs ${expected}`,
      { field: `${field}.data` },
    );
  }
}
