/**
 * Dataset builder (SPEC §2 dataset protocol, paper 3.1): for every prompt p, every t in T and
 * seeds 0..S-1, generate I(p, t, s) from the noise of noiseSeed(p, s), so I(p, 129, s) is the
 * reference of every t.
 *
 * Resumable after kill -9, with no duplicate or missing rows and no finished image redone:
 * 1. each PNG is written atomically (temporary name + rename) BEFORE its row is inserted, in a
 *    transaction, under the unique key (prompt_id, steps, seed);
 * 2. on start, leftover temporary files are deleted, complete files without a row are
 *    reconciled into rows (a kill between rename and insert), and rows whose file is gone are
 *    dropped so the image is generated again;
 * 3. only keys without a row are generated.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "@budgetfusion/shared/errors";
import { eq } from "drizzle-orm";
import type { DatasetDb } from "../db/open-dataset-db";
import { images, prompts as promptsTable, runMeta } from "../db/schema";
import { type ProgressSink, silentProgress } from "../progress/progress";
import type { GenerationRequest, GenerationResult, Generator } from "./generator";
import { noiseSeed } from "./generator";
import { type ImageKey, keyString, scanImages, sha256Hex, writeImageAtomic } from "./image-files";

interface DatasetPrompt {
  id: number;
  text: string;
  split: "train" | "test";
}

/** Settings that define the dataset; a rerun must use the same ones. */
interface DatasetSettings {
  stepGrid: readonly number[];
  seeds: number;
  guidanceScale: number;
  width: number;
  height: number;
  negativePrompt?: string | null;
  /** Keys merged over the model's scheduler_config.json (e.g. timestep_spacing: trailing). */
  scheduler?: Readonly<Record<string, unknown>>;
}

export interface BuildOptions extends DatasetSettings {
  runDir: string;
  db: DatasetDb;
  generator: Generator;
  prompts: readonly DatasetPrompt[];
  /** Generations in flight at once (e.g. workers x per-worker queue); default 1. */
  concurrency?: number;
  /**
   * Images of one step count per generator call when the generator batches (generateBatch);
   * default 1. Each batch is one unit of `concurrency`.
   */
  batchSize?: number;
  progress?: ProgressSink;
}

export interface BuildReport {
  total: number;
  generated: number;
  alreadyDone: number;
  reconciled: number;
  droppedRows: number;
  removedTmp: number;
  seconds: number;
}

const SETTINGS_KEY = "dataset_settings";

/** Records the settings on first use; a later run with different settings is a ConfigError. */
function checkSettings(db: DatasetDb, settings: DatasetSettings, modelId: string): void {
  const value = JSON.stringify({
    model: modelId,
    stepGrid: settings.stepGrid,
    seeds: settings.seeds,
    guidanceScale: settings.guidanceScale,
    width: settings.width,
    height: settings.height,
    negativePrompt: settings.negativePrompt ?? null,
    scheduler: settings.scheduler ?? {},
  });
  const row = db.select().from(runMeta).where(eq(runMeta.key, SETTINGS_KEY)).get();
  if (!row) {
    db.insert(runMeta).values({ key: SETTINGS_KEY, value }).run();
  } else if (row.value !== value) {
    throw new ConfigError(`this run directory was built with other settings: ${row.value}`, {
      field: "runDir",
    });
  }
}

/** Step 2 of the module header. */
async function reconcile(runDir: string, db: DatasetDb) {
  const scanned = await scanImages(runDir);
  const rows = db
    .select({
      id: images.id,
      promptId: images.promptId,
      steps: images.steps,
      seed: images.seed,
      file: images.file,
    })
    .from(images)
    .all();
  const onDisk = new Set(scanned.complete.map((c) => keyString(c.key)));
  let droppedRows = 0;
  for (const row of rows) {
    if (!onDisk.has(keyString(row))) {
      db.delete(images).where(eq(images.id, row.id)).run();
      droppedRows++;
    }
  }
  const withRow = new Set(rows.map((r) => keyString(r)));
  let reconciled = 0;
  for (const c of scanned.complete) {
    if (withRow.has(keyString(c.key))) continue;
    const png = await readFile(join(runDir, c.rel));
    db.insert(images)
      .values({
        ...c.key,
        file: c.rel,
        sha256: sha256Hex(png),
        bytes: png.byteLength,
        genMs: 0,
        createdAt: (await stat(join(runDir, c.rel))).mtime.toISOString(),
      })
      .onConflictDoNothing()
      .run();
    reconciled++;
  }
  return { reconciled, droppedRows, removedTmp: scanned.removedTmp };
}

/** Every (p, t, s) of the protocol, prompt-major so an interrupted run holds whole prompts first. */
function protocolKeys(
  prompts: readonly DatasetPrompt[],
  stepGrid: readonly number[],
  seeds: number,
): ImageKey[] {
  const keys: ImageKey[] = [];
  for (const p of prompts) {
    for (let seed = 0; seed < seeds; seed++) {
      for (const steps of stepGrid) keys.push({ promptId: p.id, steps, seed });
    }
  }
  return keys;
}

/**
 * The keys in batches of one step count each, at most `size` long, in the order the keys fill
 * them; prompt-major keys therefore still finish whole prompts first.
 */
function batchesByStepCount(keys: readonly ImageKey[], size: number): ImageKey[][] {
  const open = new Map<number, ImageKey[]>();
  const batches: ImageKey[][] = [];
  for (const key of keys) {
    const batch = open.get(key.steps) ?? [];
    batch.push(key);
    open.set(key.steps, batch);
    if (batch.length === size) {
      batches.push(batch);
      open.delete(key.steps);
    }
  }
  batches.push(...open.values());
  return batches;
}

export async function buildDataset(options: BuildOptions): Promise<BuildReport> {
  const started = performance.now();
  const { db, runDir, generator } = options;
  checkSettings(db, options, generator.modelId);
  db.insert(promptsTable)
    .values(options.prompts.map((p) => ({ id: p.id, text: p.text, split: p.split })))
    .onConflictDoNothing()
    .run();
  const rec = await reconcile(runDir, db);
  const done = new Set(
    db
      .select({ promptId: images.promptId, steps: images.steps, seed: images.seed })
      .from(images)
      .all()
      .map(keyString),
  );
  const all = protocolKeys(options.prompts, options.stepGrid, options.seeds);
  const todo = all.filter((k) => !done.has(keyString(k)));
  const text = new Map(options.prompts.map((p) => [p.id, p.text]));
  const progress = options.progress ?? silentProgress;
  progress.start(all.length, all.length - todo.length);
  const request = (key: ImageKey): GenerationRequest => ({
    prompt: text.get(key.promptId) ?? "",
    negativePrompt: options.negativePrompt,
    steps: key.steps,
    seed: noiseSeed(key.promptId, key.seed),
    guidanceScale: options.guidanceScale,
    width: options.width,
    height: options.height,
    scheduler: options.scheduler,
  });
  const generateBatch = async (keys: readonly ImageKey[]): Promise<GenerationResult[]> =>
    generator.generateBatch && keys.length > 1
      ? generator.generateBatch(keys.map(request))
      : [await generator.generate(request(keys[0]))];
  const batches = batchesByStepCount(todo, generator.generateBatch ? (options.batchSize ?? 1) : 1);
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const keys = batches[next++];
      const results = await generateBatch(keys);
      for (const [i, key] of keys.entries()) {
        const result = results[i];
        const rel = await writeImageAtomic(runDir, key, result.png);
        db.transaction((tx) => {
          tx.insert(images)
            .values({
              ...key,
              file: rel,
              sha256: sha256Hex(result.png),
              bytes: result.png.byteLength,
              genMs: result.ms,
              createdAt: new Date().toISOString(),
            })
            .run();
        });
        progress.increment();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, worker));
  } finally {
    progress.stop();
  }
  return {
    total: all.length,
    generated: todo.length,
    alreadyDone: all.length - todo.length,
    ...rec,
    seconds: (performance.now() - started) / 1000,
  };
}
