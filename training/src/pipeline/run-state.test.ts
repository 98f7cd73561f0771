import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { markStage, readRunState } from "./run-state";

describe("run state", () => {
  it("marking a stage done forgets the later ones, which were made from its earlier output", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bf-state-"));
    const state = await readRunState(dir);
    for (const stage of ["sample", "dataset", "metrics", "train", "evaluate", "bundle"] as const)
      await markStage(dir, state, stage, 1, { stage });
    await markStage(dir, state, "train", 2, { again: true });
    const read = await readRunState(dir);
    expect(Object.keys(read.stages)).toEqual(["sample", "dataset", "metrics", "train"]);
    expect(read.stages.train?.summary).toEqual({ again: true });
  });
});
