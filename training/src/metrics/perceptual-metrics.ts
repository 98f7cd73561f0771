/**
 * The three perceptual metrics of SPEC §3 (paper 3.2) for one (prompt, seed) group of images,
 * I(p, t, s) for every t, against the reference I(p, 129, s):
 * - L-SNR: shared/src/metrics/lsnr.ts (no-reference);
 * - D-SIM: 1 - cos of the D-SIM model's embeddings (DreamSim in production), clamped to [0, 1]
 *   (SPEC: "in [0, 1]"; a negative cosine, possible for a non-DreamSim stand-in, maps to 1);
 * - I-CLIP: cos of CLIP image embeddings clamped to [0, 1] (SPEC §3 Decision).
 */

import type { Rgb8Image } from "@budgetfusion/inference/embedding/bicubic-resize";
import type { ImageEmbedder } from "@budgetfusion/inference/embedding/image-embedder";
import { ShapeError } from "@budgetfusion/shared/errors";
import { decodePngToRgb } from "@budgetfusion/shared/image/png-image";
import type { RgbImage } from "@budgetfusion/shared/image/rgb-image";
import { lsnr } from "@budgetfusion/shared/metrics/lsnr";

export interface MetricValues {
  lsnr: number;
  dsim: number;
  iclip: number;
}

/** Float [0,1] RGB -> 8-bit, as the PNG held it (exact for decoded 8-bit PNGs). */
function toRgb8(image: RgbImage): Rgb8Image {
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i++) {
    const v = Math.round(image.data[i] * 255);
    data[i] = v < 0 ? 0 : Math.min(v, 255);
  }
  return { width: image.width, height: image.height, data };
}

/** cos(a_i, b) for the i-th row of `rows` ([n, width]) against `ref` ([width]). */
function cosineToReference(rows: Float32Array, ref: Float32Array, width: number): number[] {
  if (rows.length % width !== 0 || ref.length !== width) {
    throw new ShapeError(
      `embedding sizes ${rows.length} / ${ref.length} do not fit width ${width}`,
      {
        field: "embeddings",
      },
    );
  }
  let rn = 0;
  for (let d = 0; d < width; d++) rn += ref[d] * ref[d];
  const out: number[] = [];
  for (let o = 0; o < rows.length; o += width) {
    let dot = 0;
    let an = 0;
    for (let d = 0; d < width; d++) {
      dot += rows[o + d] * ref[d];
      an += rows[o + d] * rows[o + d];
    }
    out.push(an > 0 && rn > 0 ? dot / Math.sqrt(an * rn) : 0);
  }
  return out;
}

const clamp01 = (v: number) => (v < 0 ? 0 : Math.min(v, 1));

export interface MetricModels {
  clip: ImageEmbedder;
  dsim: ImageEmbedder;
}

/**
 * Metrics of `pngs` (one per step count, any order) against `referencePng` = I(p, 129, s).
 * The reference itself gets D-SIM 0 and I-CLIP 1 up to rounding when it is in the list; pass
 * its index as `reference` instead of its bytes to embed it once.
 */
export async function metricsAgainstReference(
  models: MetricModels,
  pngs: readonly Uint8Array[],
  reference: Uint8Array | { index: number },
): Promise<MetricValues[]> {
  const decoded = pngs.map((p) => decodePngToRgb(p));
  const images8 = decoded.map(toRgb8);
  const clipRows = await models.clip.embed(images8);
  const dsimRows = await models.dsim.embed(images8);
  const row = (rows: Float32Array, width: number, i: number) =>
    rows.slice(i * width, (i + 1) * width);
  let clipRef: Float32Array;
  let dsimRef: Float32Array;
  if (reference instanceof Uint8Array) {
    const ref8 = toRgb8(decodePngToRgb(reference));
    clipRef = await models.clip.embed([ref8]);
    dsimRef = await models.dsim.embed([ref8]);
  } else {
    if (!Number.isInteger(reference.index) || reference.index < 0 || reference.index >= pngs.length)
      throw new ShapeError(
        `reference index ${reference.index} is not one of ${pngs.length} images`,
        {
          field: "reference",
        },
      );
    clipRef = row(clipRows, models.clip.width, reference.index);
    dsimRef = row(dsimRows, models.dsim.width, reference.index);
  }
  const iclip = cosineToReference(clipRows, clipRef, models.clip.width);
  const dcos = cosineToReference(dsimRows, dsimRef, models.dsim.width);
  return decoded.map((img, i) => ({
    lsnr: lsnr(img),
    dsim: clamp01(1 - dcos[i]),
    iclip: clamp01(iclip[i]),
  }));
}
