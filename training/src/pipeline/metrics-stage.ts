/**
 * Metrics stage (SPEC §3; docs/training.md §3). Input: the dataset's images, the CLIP and D-SIM
 * image models (--clip, --dreamsim). Output: tables `image_metrics` and `metrics` in
 * `<run>/dataset.sqlite`, every image measured against I(p, t_N = 129, s) and averaged over
 * seeds, resumable per (prompt, seed) group; summary: groups and how many were computed.
 */
import { DENSE_REFERENCE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import { computeDatasetMetrics } from "../metrics/dataset-metrics";
import type { PipelineStage } from "./pipeline-run";

export const metricsStage: PipelineStage<{ groups: number; computed: number }> = {
  name: "metrics",
  async run(run) {
    return computeDatasetMetrics({
      runDir: run.dir,
      db: run.db(),
      models: await run.metricModels(),
      denseReferenceSteps: DENSE_REFERENCE_STEPS,
      concurrency: run.o.concurrency,
      progress: run.progress("metrics", "groups"),
    });
  },
};
