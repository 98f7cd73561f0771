/**
 * Metric stage over a run's dataset (SPEC §3): per image metrics into `image_metrics`, one
 * (prompt, seed) group at a time against its I(p, 129, s), then the seed averages (paper Eq. 5)
 * into `metrics`. Resumable: groups whose rows are all present are skipped. The dataset records
 * which L-SNR definition its values use (run_meta `lsnr_definition`, SPEC §3 revised), so values
 * of two definitions are never mixed or trained on unknowingly.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, NotFoundError } from "@budgetfusion/shared/errors";
import {
  LSNR_DEFINITION,
  LSNR_DEFINITIONS,
  type LsnrDefinition,
} from "@budgetfusion/shared/metrics/lsnr-definition";
import { and, avg, count, eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { DatasetDb } from "../db/open-dataset-db";
import { imageMetrics, images, metrics, runMeta } from "../db/schema";
import { type ProgressSink, silentProgress } from "../progress/progress";
import { type MetricModels, metricsAgainstReference } from "./perceptual-metrics";

export interface MetricStageOptions {
  runDir: string;
  db: DatasetDb;
  models: MetricModels;
  /** t_N, the dense reference step count whose image every other is measured against (129). */
  denseReferenceSteps: number;
  /**
   * Groups measured at once (default 1): while one group's PNG decoding and L-SNR hold the
   * JavaScript thread, another's embedding runs in ONNX Runtime's threads.
   */
  concurrency?: number;
  progress?: ProgressSink;
}

/** run_meta key; migration 0001 writes "noise_share" into datasets measured before the revision. */
const LSNR_DEFINITION_KEY = "lsnr_definition";

/** The L-SNR definition of the stored values; unrecorded means measured after the revision. */
export function datasetLsnrDefinition(db: DatasetDb): LsnrDefinition {
  const row = db.select().from(runMeta).where(eq(runMeta.key, LSNR_DEFINITION_KEY)).get();
  return row === undefined
    ? LSNR_DEFINITION
    : z.enum(LSNR_DEFINITIONS).parse(JSON.parse(row.value));
}

function recordLsnrDefinition(db: Pick<DatasetDb, "insert">, definition: LsnrDefinition): void {
  const value = JSON.stringify(definition);
  db.insert(runMeta)
    .values({ key: LSNR_DEFINITION_KEY, value })
    .onConflictDoUpdate({ target: runMeta.key, set: { value } })
    .run();
}

function requireCurrentLsnr(db: DatasetDb): void {
  const definition = datasetLsnrDefinition(db);
  if (definition !== LSNR_DEFINITION)
    throw new ConfigError(
      `dataset: its L-SNR values are "${definition}", N/(S+N) as the first SPEC §3 defined it, not ` +
        `"${LSNR_DEFINITION}" S/(S+N); resume the run with npm run pipeline (same --out), which maps them`,
      { field: "run_meta.lsnr_definition" },
    );
}

/**
 * Maps stored noise_share values to signal_share in place: S/(S+N) = 1 - N/(S+N) exactly, so no
 * image is measured again (both tables and the record in one transaction).
 */
export function mapLsnrToSignalShare(db: DatasetDb): void {
  if (datasetLsnrDefinition(db) === LSNR_DEFINITION) return;
  db.transaction((tx) => {
    tx.update(imageMetrics)
      .set({ lsnr: sql`1 - ${imageMetrics.lsnr}` })
      .run();
    tx.update(metrics)
      .set({ lsnr: sql`1 - ${metrics.lsnr}` })
      .run();
    recordLsnrDefinition(tx, LSNR_DEFINITION);
  });
}

export async function computeDatasetMetrics(
  options: MetricStageOptions,
): Promise<{ groups: number; computed: number }> {
  const { db, runDir } = options;
  requireCurrentLsnr(db);
  recordLsnrDefinition(db, LSNR_DEFINITION);
  const groups = db
    .select({ promptId: images.promptId, seed: images.seed, n: count() })
    .from(images)
    .groupBy(images.promptId, images.seed)
    .all();
  const doneCounts = new Map(
    db
      .select({ promptId: imageMetrics.promptId, seed: imageMetrics.seed, n: count() })
      .from(imageMetrics)
      .groupBy(imageMetrics.promptId, imageMetrics.seed)
      .all()
      .map((r) => [`${r.promptId}/${r.seed}`, r.n]),
  );
  const todo = groups.filter((g) => (doneCounts.get(`${g.promptId}/${g.seed}`) ?? 0) < g.n);
  const progress = options.progress ?? silentProgress;
  progress.start(groups.length, groups.length - todo.length);
  const measureGroup = async (g: (typeof todo)[number]) => {
    const rows = db
      .select()
      .from(images)
      .where(and(eq(images.promptId, g.promptId), eq(images.seed, g.seed)))
      .all();
    const ref = rows.find((r) => r.steps === options.denseReferenceSteps);
    if (!ref) {
      throw new NotFoundError(
        `prompt ${g.promptId} seed ${g.seed} has no ${options.denseReferenceSteps}-step reference image`,
        {
          field: "images",
        },
      );
    }
    const pngs = await Promise.all(rows.map((r) => readFile(join(runDir, r.file))));
    const values = await metricsAgainstReference(options.models, pngs, {
      index: rows.indexOf(ref),
    });
    db.transaction((tx) => {
      tx.delete(imageMetrics)
        .where(and(eq(imageMetrics.promptId, g.promptId), eq(imageMetrics.seed, g.seed)))
        .run();
      tx.insert(imageMetrics)
        .values(
          rows.map((r, i) => ({
            promptId: r.promptId,
            steps: r.steps,
            seed: r.seed,
            ...values[i],
          })),
        )
        .run();
    });
    progress.increment();
  };
  let next = 0;
  const worker = async () => {
    while (next < todo.length) await measureGroup(todo[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, worker));
  progress.stop();
  averageOverSeeds(db);
  return { groups: groups.length, computed: todo.length };
}

/** Rewrites `metrics` as the per-(prompt, steps) means over seeds. */
export function averageOverSeeds(db: DatasetDb): void {
  const rows = db
    .select({
      promptId: imageMetrics.promptId,
      steps: imageMetrics.steps,
      lsnr: avg(imageMetrics.lsnr).mapWith(Number),
      dsim: avg(imageMetrics.dsim).mapWith(Number),
      iclip: avg(imageMetrics.iclip).mapWith(Number),
      seeds: count(),
    })
    .from(imageMetrics)
    .groupBy(imageMetrics.promptId, imageMetrics.steps)
    .all();
  db.transaction((tx) => {
    tx.run(sql`DELETE FROM ${metrics}`);
    for (let i = 0; i < rows.length; i += 500)
      tx.insert(metrics)
        .values(rows.slice(i, i + 500))
        .run();
  });
}

/** Measured curves at the sampled steps: promptId -> steps -> values. */
export function readMeasuredMetrics(
  db: DatasetDb,
): Map<number, Map<number, { lsnr: number; dsim: number; iclip: number }>> {
  requireCurrentLsnr(db);
  const out = new Map<number, Map<number, { lsnr: number; dsim: number; iclip: number }>>();
  for (const r of db.select().from(metrics).all()) {
    if (!out.has(r.promptId)) out.set(r.promptId, new Map());
    out.get(r.promptId)?.set(r.steps, { lsnr: r.lsnr, dsim: r.dsim, iclip: r.iclip });
  }
  return out;
}
