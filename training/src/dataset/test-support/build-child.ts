/**
 * Test support (not shipped): runs the dataset builder in a child process with a synthetic,
 * slow Generator so a test can kill -9 it mid-run. Every generation appends
 * "<run-tag> <promptId>/<steps>/<noiseSeed>" to the log file: the generation counter the test
 * reads.
 * Usage: tsx build-child.ts RUN_DIR LOG_FILE RUN_TAG
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { encode } from "fast-png";
import { openDatasetDb } from "../../db/open-dataset-db";
import { buildDataset } from "../dataset-builder";
import type { GenerationRequest, Generator } from "../generator";
import { CHILD_PROMPTS, CHILD_SEEDS, CHILD_STEPS } from "./build-child-config";

const [runDir, logFile, tag] = process.argv.slice(2);

class SlowSyntheticGenerator implements Generator {
  readonly modelId = "synthetic";
  async generate(req: GenerationRequest) {
    await new Promise((r) => setTimeout(r, 25));
    const data = new Uint8Array(8 * 8 * 3).map((_, i) => (req.seed + req.steps * 7 + i) % 256);
    const png = encode({ width: 8, height: 8, data, channels: 3, depth: 8 });
    return { png, ms: 25 };
  }
  async close() {}
}

/** Wraps a generator and logs each finished generation (before the builder writes it). */
function counted(inner: Generator): Generator {
  return {
    modelId: inner.modelId,
    async generate(req) {
      const res = await inner.generate(req);
      const id = CHILD_PROMPTS.find((p) => p.text === req.prompt)?.id;
      appendFileSync(logFile, `${tag} ${id}/${req.steps}/${req.seed}\n`);
      return res;
    },
    close: () => inner.close(),
  };
}

const db = openDatasetDb(join(runDir, "dataset.sqlite"));
await buildDataset({
  runDir,
  db,
  generator: counted(new SlowSyntheticGenerator()),
  prompts: CHILD_PROMPTS,
  stepGrid: CHILD_STEPS,
  seeds: CHILD_SEEDS,
  guidanceScale: 7.5,
  width: 8,
  height: 8,
  concurrency: 2,
});
db.$client.close();
