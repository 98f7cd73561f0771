/**
 * The whole chain of SPEC §1-§6 as an ordered list of stage modules (sample, dataset, metrics,
 * train, evaluate, bundle), each run unless state.json records it done (run-state.ts), up to
 * --until (a run made before SPEC §3's L-SNR revision is first brought up to it,
 * lsnr-revision.ts); then, when asked, the publish step (bundle/publish-bundle.ts), which is not a stage:
 * it may run on a run whose bundle was written earlier.
 */
import { mkdir } from "node:fs/promises";
import { publishBundle } from "../bundle/publish-bundle";
import { type BundleSummary, bundleStage } from "./bundle-stage";
import { datasetStage } from "./dataset-stage";
import { evaluateStage } from "./eval-stage";
import { reviseRunLsnr } from "./lsnr-revision";
import { metricsStage } from "./metrics-stage";
import type { PipelineOptions } from "./pipeline-options";
import { PipelineRun, type PipelineStage } from "./pipeline-run";
import { markStage, readRunState, STAGES, type Stage } from "./run-state";
import { sampleStage } from "./sample-stage";
import { trainStage } from "./train-stage";

const PIPELINE: readonly PipelineStage[] = [
  sampleStage,
  datasetStage,
  metricsStage,
  trainStage,
  evaluateStage,
  bundleStage,
];

export interface PipelineResult {
  /** Seconds per stage run this time (stages already done are absent). */
  timings: Partial<Record<Stage, number>>;
  bundle?: BundleSummary;
}

export async function runPipeline(
  o: PipelineOptions,
  log: (line: string) => void,
  run: PipelineRun = new PipelineRun(o, log),
): Promise<PipelineResult> {
  await mkdir(run.dir, { recursive: true });
  const state = await readRunState(run.dir);
  const timings: Partial<Record<Stage, number>> = {};
  try {
    await reviseRunLsnr(run, state);
    // Once a stage runs, every later one runs too: its inputs changed (e.g. retrained models).
    let upstreamRan = false;
    for (const stage of PIPELINE.slice(0, STAGES.indexOf(o.until) + 1)) {
      if (!upstreamRan && state.stages[stage.name] && !stage.rerun?.(run)) continue;
      upstreamRan = true;
      const t0 = performance.now();
      const summary = await stage.run(run);
      const seconds = (performance.now() - t0) / 1000;
      timings[stage.name] = seconds;
      await markStage(run.dir, state, stage.name, seconds, summary);
      log(`${stage.name} done in ${seconds.toFixed(1)} s`);
    }
  } finally {
    await run.close();
  }
  const bundle = state.stages.bundle?.summary as BundleSummary | undefined;
  if (o.publish && bundle) {
    const published = await publishBundle(bundle.dir, { setDefault: o["set-default"] });
    log(
      `bundle ${published.version} ${published.copied ? "published to" : "already in"} ${published.dir}` +
        (published.defaultSet ? "; artifacts/bundles/DEFAULT names it" : ""),
    );
  }
  return { timings, bundle };
}
