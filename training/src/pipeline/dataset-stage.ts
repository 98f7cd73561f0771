/**
 * Dataset stage (SPEC §2; docs/training.md §2). Input: the prompt set, the generator (--model
 * in-process or --workers). Output: `<run>/images/p<id>/s<seed>_t<steps>.png` and their rows in
 * `<run>/dataset.sqlite`, resumable per image; summary: the builder's report.
 */
import { type BuildReport, buildDataset } from "../dataset/dataset-builder";
import type { PipelineOptions } from "./pipeline-options";
import type { PipelineStage } from "./pipeline-run";

/** The generation settings of the dataset, which evaluation must generate with too. */
export function generationSettings(o: PipelineOptions) {
  return {
    guidanceScale: o.guidance,
    width: o.width,
    height: o.height,
    negativePrompt: o["negative-prompt"],
    scheduler: Object.keys(o.scheduler).length ? o.scheduler : undefined,
  };
}

export const datasetStage: PipelineStage<BuildReport> = {
  name: "dataset",
  async run(run) {
    return buildDataset({
      runDir: run.dir,
      db: run.db(),
      generator: await run.generator(),
      prompts: (await run.promptSet()).prompts,
      stepGrid: run.o.stepGrid,
      seeds: run.o.seeds,
      ...generationSettings(run.o),
      concurrency: run.o.concurrency,
      batchSize: run.o["gen-batch"],
      progress: run.progress("dataset", "images"),
    });
  },
};
