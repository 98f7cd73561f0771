/**
 * The report's image grid (issue 11, SPEC §6 "shown side by side"): for the first held-out
 * prompts, the seed-0 image of each budget condition next to each other, the step count under
 * each picture.
 */
import { type GalleryRow, imageGallery } from "@budgetfusion/shared/plot/svg-plot";
import type { AllocationCondition, Condition } from "../eval/evaluate";

/** The conditions shown, in column order (allocate only when the run calibrated it). */
const GALLERY_CONDITIONS = ["ours", "uniform", "reference", "allocate"] as const;
type GalleryCondition = (typeof GALLERY_CONDITIONS)[number];

export const GALLERY_LABEL: Record<GalleryCondition, string> = {
  ours: "OURS",
  uniform: "UNIFORM",
  reference: "REFERENCE",
  allocate: "ALLOCATE",
};

export function isGalleryCondition(c: Condition | AllocationCondition): c is GalleryCondition {
  return (GALLERY_CONDITIONS as readonly string[]).includes(c);
}

export function gallerySvg(rows: readonly GalleryRow[], imageSize: number): string {
  const columns = Math.max(0, ...rows.map((r) => r.cells.length));
  return imageGallery(rows, {
    title: `Held-out prompts, seed 0: ${GALLERY_CONDITIONS.slice(0, columns)
      .map((c) => GALLERY_LABEL[c])
      .join(", ")} side by side`,
    columns: GALLERY_CONDITIONS.slice(0, columns).map((c) => GALLERY_LABEL[c]),
    imageSize,
  });
}
