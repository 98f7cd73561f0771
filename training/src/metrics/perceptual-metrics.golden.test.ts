import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadImageEmbedder } from "@budgetfusion/inference/embedding/image-embedder";
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { lsnrOfPng } from "@budgetfusion/shared/metrics/lsnr";
import { FIXTURES, readJson } from "@budgetfusion/test-helpers/fixtures";
import { describe, expect, it } from "vitest";
import { openDatasetDb } from "../db/open-dataset-db";
import { imageMetrics } from "../db/schema";
import { averageOverSeeds, readMeasuredMetrics } from "./dataset-metrics";
import { metricsAgainstReference } from "./perceptual-metrics";

const REFS = join(FIXTURES, "refs-public");

describe("perceptual metrics against a reference image", () => {
  it("I-CLIP reproduces the reference CLIP image cosine matrix; D-SIM = 1 - cos; L-SNR is shared's", async () => {
    const ref = readJson<{ images: string[]; image_cosine_matrix: number[][] }>(
      "refs-public",
      "clip.json",
    );
    const clip = await loadImageEmbedder(createNodeOrt(1), join(FIXTURES, "tiny-clip"));
    const pngs = ref.images.map((n) => new Uint8Array(readFileSync(join(REFS, n))));
    // reference = park_5_0.png (index 2); the same model stands in for D-SIM
    const byBytes = await metricsAgainstReference({ clip, dsim: clip }, pngs, pngs[2]);
    // The reference given as its index in the list (embedded once) answers the same.
    const byIndex = await metricsAgainstReference({ clip, dsim: clip }, pngs, { index: 2 });
    await expect(metricsAgainstReference({ clip, dsim: clip }, pngs, { index: 3 })).rejects.toThrow(
      /reference index 3/,
    );
    await clip.release();
    for (const values of [byBytes, byIndex])
      for (let i = 0; i < 3; i++) {
        const cos = ref.image_cosine_matrix[i][2];
        expect(values[i].iclip).toBeCloseTo(Math.min(1, cos), 5);
        expect(values[i].dsim).toBeCloseTo(Math.max(0, 1 - cos), 5);
        expect(values[i].lsnr).toBe(lsnrOfPng(pngs[i]));
      }
  });
});

describe("seed averaging (paper Eq. 5)", () => {
  it("stores the per-(prompt, steps) mean over seeds", () => {
    const db = openDatasetDb(":memory:");
    db.insert(imageMetrics)
      .values([
        { promptId: 1, steps: 5, seed: 0, lsnr: 0.2, dsim: 0.4, iclip: 0.9 },
        { promptId: 1, steps: 5, seed: 1, lsnr: 0.4, dsim: 0.2, iclip: 0.7 },
        { promptId: 1, steps: 129, seed: 0, lsnr: 0.1, dsim: 0, iclip: 1 },
      ])
      .run();
    averageOverSeeds(db);
    const m = readMeasuredMetrics(db);
    expect(m.get(1)?.get(5)?.lsnr).toBeCloseTo(0.3, 12);
    expect(m.get(1)?.get(5)?.dsim).toBeCloseTo(0.3, 12);
    expect(m.get(1)?.get(5)?.iclip).toBeCloseTo(0.8, 12);
    expect(m.get(1)?.get(129)).toEqual({ lsnr: 0.1, dsim: 0, iclip: 1 });
  });
});
