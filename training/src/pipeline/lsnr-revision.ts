/**
 * Resuming a run made before SPEC §3's L-SNR revision. Its dataset stored L-SNR as N/(S+N)
 * (migration 0001 marks such datasets "noise_share"); the revised metric is S/(S+N), exactly
 * 1 - that. So the stored values are mapped (no image is measured again), the L-SNR models
 * trained on the old values are removed so that the train stage trains them again (SPEC §3:
 * predictors made with the old definition are retrained; the D-SIM and I-CLIP models do not
 * depend on it and stay), and the evaluate and bundle stages run again.
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { LSNR_DEFINITION } from "@budgetfusion/shared/metrics/lsnr-definition";
import { datasetLsnrDefinition, mapLsnrToSignalShare } from "../metrics/dataset-metrics";
import type { PipelineRun } from "./pipeline-run";
import { type RunState, unmarkStages } from "./run-state";
import { modelFiles, VARIANT_SPECS } from "./train-stage";

/** Returns whether the run needed it. */
export async function reviseRunLsnr(
  run: Pick<PipelineRun, "dir" | "db" | "log">,
  state: RunState,
): Promise<boolean> {
  if (!existsSync(join(run.dir, "dataset.sqlite"))) return false;
  const db = run.db();
  const before = datasetLsnrDefinition(db);
  if (before === LSNR_DEFINITION) return false;
  mapLsnrToSignalShare(db);
  for (const variant of Object.keys(VARIANT_SPECS))
    for (const file of modelFiles(run.dir, variant, "lsnr")) await rm(file, { force: true });
  const redo = (["train", "evaluate", "bundle"] as const).filter((s) => state.stages[s]);
  await unmarkStages(run.dir, state, redo);
  run.log(
    `L-SNR revision (SPEC §3): ${run.dir} stored "${before}" N/(S+N); mapped to "${LSNR_DEFINITION}" ` +
      `S/(S+N) = 1 - x, its L-SNR models removed for retraining${redo.length ? `, stages ${redo.join(", ")} to run again` : ""}`,
  );
  return true;
}
