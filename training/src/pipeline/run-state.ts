/**
 * Stage bookkeeping of a pipeline run: `state.json` in the run directory records each finished
 * stage with its summary, so a rerun resumes at the first unfinished stage. Stages themselves
 * are also resumable inside (dataset rows, metric groups, one model file per variant/metric).
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const STAGES = ["sample", "dataset", "metrics", "train", "evaluate", "bundle"] as const;
export type Stage = (typeof STAGES)[number];

export interface RunState {
  stages: Partial<Record<Stage, { finishedAt: string; seconds: number; summary: unknown }>>;
}

export async function readRunState(runDir: string): Promise<RunState> {
  try {
    return JSON.parse(await readFile(join(runDir, "state.json"), "utf8")) as RunState;
  } catch {
    return { stages: {} };
  }
}

async function writeRunState(runDir: string, state: RunState): Promise<void> {
  const path = join(runDir, "state.json");
  await writeFile(`${path}.tmp`, `${JSON.stringify(state, null, 1)}\n`);
  await rename(`${path}.tmp`, path);
}

/** Forgets that `stages` finished, so the next run does them again. */
export async function unmarkStages(
  runDir: string,
  state: RunState,
  stages: readonly Stage[],
): Promise<void> {
  for (const stage of stages) delete state.stages[stage];
  await writeRunState(runDir, state);
}

/**
 * Records `stage` done and forgets every later stage: those were made from the stage's earlier
 * output (say, evaluate and bundle after `--until train` re-exported the models).
 */
export async function markStage(
  runDir: string,
  state: RunState,
  stage: Stage,
  seconds: number,
  summary: unknown,
): Promise<void> {
  state.stages[stage] = { finishedAt: new Date().toISOString(), seconds, summary };
  for (const later of STAGES.slice(STAGES.indexOf(stage) + 1)) delete state.stages[later];
  await writeRunState(runDir, state);
}
