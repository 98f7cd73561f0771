import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { describe, expect, it } from "vitest";
import { openDatasetDb } from "../db/open-dataset-db";
import * as schema from "../db/schema";
import {
  averageOverSeeds,
  computeDatasetMetrics,
  datasetLsnrDefinition,
  readMeasuredMetrics,
} from "../metrics/dataset-metrics";
import { reviseRunLsnr } from "./lsnr-revision";
import { type RunState, readRunState } from "./run-state";
import { modelFiles } from "./train-stage";

const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), "..", "db", "migrations");

/** A run folder whose dataset was measured before migration 0001 existed (the first SPEC). */
function preRevisionRun(): string {
  const dir = mkdtempSync(join(tmpdir(), "bf-lsnr-rev-"));
  // The migrations as they were: 0000 only.
  const old = join(dir, "old-migrations");
  cpSync(MIGRATIONS, old, { recursive: true });
  const journalPath = join(old, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: unknown[] };
  journal.entries = journal.entries.slice(0, 1);
  writeFileSync(journalPath, JSON.stringify(journal));
  const client = new Database(join(dir, "dataset.sqlite"));
  const db = drizzle({ client, schema, casing: "snake_case" });
  migrate(db, { migrationsFolder: old });
  db.insert(schema.imageMetrics)
    .values([
      { promptId: 1, steps: 5, seed: 0, lsnr: 0.25, dsim: 0.4, iclip: 0.9 },
      { promptId: 1, steps: 5, seed: 1, lsnr: 0.75, dsim: 0.2, iclip: 0.7 },
      { promptId: 1, steps: 129, seed: 0, lsnr: 0.125, dsim: 0, iclip: 1 },
    ])
    .run();
  averageOverSeeds(db as Parameters<typeof averageOverSeeds>[0]);
  client.close();
  for (const variant of ["full", "mlp_tanh"])
    for (const metric of ["lsnr", "dsim"] as const)
      for (const file of modelFiles(dir, variant, metric)) {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, `${variant}/${metric}`);
      }
  const done = { finishedAt: "2026-01-01T00:00:00.000Z", seconds: 1, summary: {} };
  const state: RunState = {
    stages: {
      sample: done,
      dataset: done,
      metrics: done,
      train: done,
      evaluate: done,
      bundle: done,
    },
  };
  writeFileSync(join(dir, "state.json"), JSON.stringify(state));
  return dir;
}

describe("a run from before SPEC §3's L-SNR revision", () => {
  it("is marked noise_share by migration 0001 and refused by the readers until revised", () => {
    const dir = preRevisionRun();
    const db = openDatasetDb(join(dir, "dataset.sqlite"));
    expect(datasetLsnrDefinition(db)).toBe("noise_share");
    expect(() => readMeasuredMetrics(db)).toThrow(
      expect.objectContaining({ field: "run_meta.lsnr_definition" }),
    );
    db.$client.close();
  });

  it("is revised exactly: L-SNR 1 - x, L-SNR models removed, train/evaluate/bundle redone", async () => {
    const dir = preRevisionRun();
    const db = openDatasetDb(join(dir, "dataset.sqlite"));
    const state = await readRunState(dir);
    const logs: string[] = [];
    const run = { dir, db: () => db, log: (l: string) => logs.push(l) };
    expect(await reviseRunLsnr(run, state)).toBe(true);

    expect(datasetLsnrDefinition(db)).toBe("signal_share");
    const perImage = db.select().from(schema.imageMetrics).all();
    expect(perImage.map((r) => r.lsnr).sort()).toEqual([0.25, 0.75, 0.875]);
    expect(perImage.map((r) => r.dsim).sort()).toEqual([0, 0.2, 0.4]);
    const m = readMeasuredMetrics(db);
    expect(m.get(1)?.get(5)?.lsnr).toBeCloseTo(0.5, 15); // mean of 0.75 and 0.25
    expect(m.get(1)?.get(129)).toEqual({ lsnr: 0.875, dsim: 0, iclip: 1 });

    for (const variant of ["full", "mlp_tanh"]) {
      for (const f of modelFiles(dir, variant, "lsnr")) expect(existsSync(f)).toBe(false);
      for (const f of modelFiles(dir, variant, "dsim")) expect(existsSync(f)).toBe(true);
    }
    expect(Object.keys((await readRunState(dir)).stages).sort()).toEqual([
      "dataset",
      "metrics",
      "sample",
    ]);
    expect(logs.join("\n")).toMatch(/noise_share.*signal_share/);

    // Once is enough: a second pass changes nothing.
    expect(await reviseRunLsnr(run, state)).toBe(false);
    expect(readMeasuredMetrics(db).get(1)?.get(129)?.lsnr).toBe(0.875);
    db.$client.close();
  });

  it("leaves a dataset measured after the revision alone, and the metrics stage records it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bf-lsnr-new-"));
    const db = openDatasetDb(join(dir, "dataset.sqlite"));
    // No images: the stage measures nothing but records the definition it measures with.
    await computeDatasetMetrics({
      runDir: dir,
      db,
      models: {} as Parameters<typeof computeDatasetMetrics>[0]["models"],
      denseReferenceSteps: 129,
    });
    const row = db.select().from(schema.runMeta).all();
    expect(row).toEqual([{ key: "lsnr_definition", value: '"signal_share"' }]);
    expect(await reviseRunLsnr({ dir, db: () => db, log: () => {} }, { stages: {} })).toBe(false);
    db.$client.close();
  });
});
