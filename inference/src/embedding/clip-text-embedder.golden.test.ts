import { join } from "node:path";
import { l2NormalizeRows } from "@budgetfusion/shared/embedding/clip-text-embedder";
import { FIXTURES, maxAbsDiff, readF32, readJson } from "@budgetfusion/test-helpers/fixtures";
import { describe, expect, it } from "vitest";
import { createNodeOrt } from "../runtime/ort-node";
import { loadClipTextEmbedder } from "./clip-text-embedder";

interface ClipRef {
  prompts: string[];
  text_embeds: { file: string; shape: number[] };
}

describe("CLIP text embedder (tiny-clip)", () => {
  it("reproduces the reference text_embeds, L2-normalised, in input order (<= 1e-5)", async () => {
    const ref = readJson<ClipRef>("refs-public", "clip.json");
    const expected = l2NormalizeRows(
      readF32(join(FIXTURES, "refs-public"), ref.text_embeds).data,
      16,
    );
    // batch size 2 forces several length-sorted batches with different padding
    const embedder = await loadClipTextEmbedder(createNodeOrt(1), join(FIXTURES, "tiny-clip"), {
      batchSize: 2,
    });
    expect(embedder.width).toBe(16);
    const got = await embedder.embed(ref.prompts);
    await embedder.release();
    expect(maxAbsDiff(got, expected)).toBeLessThanOrEqual(1e-5);
  });
});
