/**
 * Metric stage over a run's dataset (SPEC §3): per image metrics into `image_metrics`, one
 * (prompt, seed) group at a time against its I(p, 129, s), then the seed averages (paper Eq. 5)
 * into `metrics`. Resumable: groups whose rows are all present are skipped.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { NotFoundError } from "@budgetfusion/shared/errors";
import { and, avg, count, eq, sql } from "drizzle-orm";
import type { DatasetDb } from "../db/open-dataset-db";
import { imageMetrics, images, metrics } from "../db/schema";
import { type ProgressSink, silentProgress } from "../progress/progress";
import { type MetricModels, metricsAgainstReference } from "./perceptual-metrics";

export interface MetricStageOptions {
  runDir: string;
  db: DatasetDb;
  models: MetricModels;
  /** t_N, the dense reference step count whose image every other is measured against (129). */
  denseReferenceSteps: number;
  progress?: ProgressSink;
}

export async function computeDatasetMetrics(
  options: MetricStageOptions,
): Promise<{ groups: number; computed: number }> {
  const { db, runDir } = options;
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
  for (const g of todo) {
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
    const values = await metricsAgainstReference(
      options.models,
      pngs,
      await readFile(join(runDir, ref.file)),
    );
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
  }
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
  const out = new Map<number, Map<number, { lsnr: number; dsim: number; iclip: number }>>();
  for (const r of db.select().from(metrics).all()) {
    if (!out.has(r.promptId)) out.set(r.promptId, new Map());
    out.get(r.promptId)?.set(r.steps, { lsnr: r.lsnr, dsim: r.dsim, iclip: r.iclip });
  }
  return out;
}
