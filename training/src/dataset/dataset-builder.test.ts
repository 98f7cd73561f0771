import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encode } from "fast-png";
import { afterEach, describe, expect, it } from "vitest";
import { openDatasetDb } from "../db/open-dataset-db";
import { images } from "../db/schema";
import { buildDataset } from "./dataset-builder";
import { type GenerationRequest, type Generator, noiseSeed } from "./generator";

const png = (req: GenerationRequest) =>
  encode({
    width: 4,
    height: 4,
    channels: 3,
    depth: 8,
    data: new Uint8Array(48).map((_, i) => (req.seed + req.steps + i) % 256),
  });

/** A generator that batches, recording every call's requests. */
function batchingGenerator(calls: GenerationRequest[][]): Generator {
  return {
    modelId: "synthetic",
    async generate(req) {
      calls.push([req]);
      return { png: png(req), ms: 1 };
    },
    async generateBatch(reqs) {
      calls.push([...reqs]);
      return reqs.map((r) => ({ png: png(r), ms: 1 }));
    },
    async close() {},
  };
}

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function build(batchSize: number, calls: GenerationRequest[][]) {
  const runDir = await mkdtemp(join(tmpdir(), "bf-batch-"));
  dirs.push(runDir);
  const db = openDatasetDb(join(runDir, "dataset.sqlite"));
  const prompts = [0, 1, 2, 3, 4].map((id) => ({
    id,
    text: `prompt ${id}`,
    split: "train" as const,
  }));
  const report = await buildDataset({
    runDir,
    db,
    generator: batchingGenerator(calls),
    prompts,
    stepGrid: [1, 3, 9],
    seeds: 2,
    guidanceScale: 1,
    width: 4,
    height: 4,
    concurrency: 2,
    batchSize,
  });
  const rows = db.select().from(images).all();
  db.$client.close();
  return { report, rows };
}

describe("buildDataset with a batching generator", () => {
  it("sends batches of one step count, at most batchSize long, covering every key once", async () => {
    const calls: GenerationRequest[][] = [];
    const { report, rows } = await build(4, calls);
    expect(report.generated).toBe(5 * 3 * 2);
    expect(rows).toHaveLength(30);
    expect(new Set(rows.map((r) => `${r.promptId}/${r.steps}/${r.seed}`)).size).toBe(30);
    for (const batch of calls) {
      expect(batch.length).toBeLessThanOrEqual(4);
      expect(new Set(batch.map((r) => r.steps)).size).toBe(1);
    }
    // 10 (prompt, seed) pairs per step count in batches of 4: 4 + 4 + 2, three step counts.
    expect(calls.map((b) => b.length).sort()).toEqual([2, 2, 2, 4, 4, 4, 4, 4, 4]);
    // Each image keeps its own (prompt, seed) noise seed.
    const seeds = calls.flat().map((r) => `${r.prompt}|${r.seed}`);
    expect(seeds).toContain(`prompt 3|${noiseSeed(3, 1)}`);
  });

  it("calls generate() once per image at batch size 1", async () => {
    const calls: GenerationRequest[][] = [];
    await build(1, calls);
    expect(calls).toHaveLength(30);
    expect(calls.every((b) => b.length === 1)).toBe(true);
  });
});
