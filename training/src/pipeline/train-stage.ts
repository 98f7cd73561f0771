/**
 * Training stage (SPEC §4 and the Table 1 ablations of SPEC §6). Input: the training split's
 * embeddings and dense targets (training-data.ts, from the prompt set and the measured metrics).
 * Output: for each variant (full BiLSTM, BiLSTM without step encoding, MLP+Tanh) and each metric
 * a predictor trained with trainPredictor and exported to ONNX,
 * `<run>/models/<variant>/<metric>.onnx`, plus `models/step-encoding.json`; summary: epochs and
 * validation loss per model. Resumable per file; rerun when a requested model file is missing.
 * With --ensemble a head is the mean of several members trained with seeds seed, seed + 1, ..
 * (export/onnx-ensemble.ts; each member's export is kept as `<metric>.member<k>.onnx` and reused,
 * so a larger ensemble trains only the new members and a crashed one resumes), rerun when the
 * count differs from `<metric>.ensemble.json`; remove <out>/models to retrain from scratch.
 * With --curve-dead-zone the exports then take the settled dead zone (applyDeadZone; the raw
 * export is kept as `<metric>.raw.onnx`), rerun when the flag differs from `models/dead-zone.json`.
 * Validation: training-data.ts validationSplit (the held-out test split is never used here).
 * Targets are normalised per metric on the training rows only (train/target-norm.ts) and the
 * inverse map is baked into the ONNX, so exported scores stay in metric units; lo/hi go to
 * `<metric>.norm.json` beside the model and into the stage summary.
 */
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "@budgetfusion/shared/errors";
import { DENSE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import { DEFAULT_PLATEAU, type PlateauParams } from "@budgetfusion/shared/plateau/step-budget";
import {
  METRIC_NAMES,
  type MetricName,
  type StepEncoding,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import type { OrtPort } from "@budgetfusion/shared/runtime/ort-port";
import { chooseDeadZone, type DeadZoneChoice, type DeadZoneRecord } from "../eval/dead-zone-choice";
import { withDeadZone } from "../export/onnx-dead-zone";
import { meanOfModels } from "../export/onnx-ensemble";
import { exportPredictorOnnx } from "../export/onnx-export";
import type { Architecture } from "../model/config";
import { METRIC_DIRECTION } from "../model/curve-envelope";
import type { ProgressSink } from "../progress/progress";
import { fitTargetNorm, normaliseTargets, type TargetNorm } from "../train/target-norm";
import { trainerProgress } from "../train/train-progress";
import { trainPredictor } from "../train/trainer";
import { byMetric, MAX_ENSEMBLE_MEMBERS, type PipelineOptions } from "./pipeline-options";
import type { PipelineStage } from "./pipeline-run";
import { curvesPerPrompt, predictCurves } from "./predict-onnx";
import type { PromptRows } from "./training-data";
import { featuresFor, selectRows, validationSplit } from "./training-data";

interface TrainStageOptions {
  runDir: string;
  train: PromptRows;
  width: number;
  variants: readonly string[];
  hidden: number;
  mlp: number;
  epochs: Record<MetricName, number>;
  batch: number;
  patience: number;
  lr: number;
  /** First-difference loss weight (model/curve-loss.ts). */
  diffWeight: number;
  /** BiLSTM tail padding (model/config.ts). */
  tailPad: number;
  /** The sampled steps T when the curve is grid-interpolated (model/grid-output.ts). */
  outputGrid?: readonly number[];
  /** Metrics whose export is the monotone envelope (model/curve-envelope.ts; needs outputGrid). */
  curveEnvelope: readonly MetricName[];
  /** The settled dead zone of every export (model/curve-dead-zone.ts). */
  deadZone: PipelineOptions["curve-dead-zone"];
  /** SPEC §5's rule, which `deadZone: "auto"` scores its candidates with. */
  plateau: PlateauParams;
  ort: OrtPort;
  /** Metrics whose head learns log q (train/target-norm.ts). */
  logQuality: readonly MetricName[];
  /** The step encoding t̄ (the bundle records the same one). */
  stepEncoding: StepEncoding;
  dropout: number;
  threads: number;
  seed: number;
  /** Members of each head's seed ensemble (1: one model). */
  ensemble: Record<MetricName, number>;
  log?: (line: string) => void;
  /** A reporter per model trained (label e.g. "train full/lsnr"). */
  progress?: (label: string) => ProgressSink;
}

export const VARIANT_SPECS: Record<string, { architecture: Architecture; stepEncoding: boolean }> =
  {
    full: { architecture: "bilstm", stepEncoding: true },
    no_step_encoding: { architecture: "bilstm", stepEncoding: false },
    mlp_tanh: { architecture: "mlp-tanh", stepEncoding: true },
  };

export function modelPath(runDir: string, variant: string, metric: MetricName): string {
  return join(runDir, "models", variant, `${metric}.onnx`);
}

/** The step encoding the run's models were trained with (written by the train stage). */
export function stepEncodingPath(runDir: string): string {
  return join(runDir, "models", "step-encoding.json");
}

/**
 * Checks that `encoding` is the one the run's models were trained with, so a resumed evaluate
 * or bundle stage with other --step-position/--step-norm flags fails instead of feeding the
 * models features they never saw. Runs from before the file existed pass unchecked.
 */
export async function checkTrainedStepEncoding(runDir: string, encoding: StepEncoding) {
  let trained: StepEncoding;
  try {
    trained = JSON.parse(await readFile(stepEncodingPath(runDir), "utf8")) as StepEncoding;
  } catch {
    return;
  }
  if (JSON.stringify(trained) !== JSON.stringify(encoding))
    throw new ConfigError(
      `--step-position/--step-norm: the models in ${runDir} were trained with step encoding ${JSON.stringify(trained)}, not ${JSON.stringify(encoding)}; pass the same flags or retrain`,
      { field: "--step-position" },
    );
}

/** The export as trained, kept when a dead zone is applied to `modelPath` (so it is applied once). */
function rawModelPath(runDir: string, variant: string, metric: MetricName): string {
  return join(runDir, "models", variant, `${metric}.raw.onnx`);
}

function deadZonePath(runDir: string): string {
  return join(runDir, "models", "dead-zone.json");
}

export function readDeadZone(runDir: string): DeadZoneRecord | undefined {
  try {
    return JSON.parse(readFileSync(deadZonePath(runDir), "utf8")) as DeadZoneRecord;
  } catch {
    return undefined;
  }
}

function deadZoneApplied(runDir: string, option: PipelineOptions["curve-dead-zone"]): boolean {
  return JSON.stringify(readDeadZone(runDir)?.option ?? "none") === JSON.stringify(option);
}

function normPath(runDir: string, variant: string, metric: MetricName): string {
  return join(runDir, "models", variant, `${metric}.norm.json`);
}

function historyPath(runDir: string, variant: string, metric: MetricName, member = 0): string {
  const name = member === 0 ? metric : `${metric}.member${member}`;
  return join(runDir, "models", variant, `${name}.history.json`);
}

function memberPath(runDir: string, variant: string, metric: MetricName, member: number): string {
  return join(runDir, "models", variant, `${metric}.member${member}.onnx`);
}

function ensemblePath(runDir: string, variant: string, metric: MetricName): string {
  return join(runDir, "models", variant, `${metric}.ensemble.json`);
}

/** How many members the exported head averages (1 for a single model, and for runs from before). */
function ensembleSize(runDir: string, variant: string, metric: MetricName): number {
  try {
    return (
      JSON.parse(readFileSync(ensemblePath(runDir, variant, metric), "utf8")) as {
        members: number;
      }
    ).members;
  } catch {
    return 1;
  }
}

/**
 * Before a head grows into an ensemble, its single model (seed + 0, the raw export when a dead
 * zone was applied) becomes member 0, so only the new members are trained.
 */
async function keepSingleAsMember(
  runDir: string,
  variant: string,
  metric: MetricName,
  members: number,
): Promise<void> {
  const member0 = memberPath(runDir, variant, metric, 0);
  const exported = modelPath(runDir, variant, metric);
  const raw = rawModelPath(runDir, variant, metric);
  if (
    members > 1 &&
    existsSync(exported) &&
    !existsSync(member0) &&
    ensembleSize(runDir, variant, metric) === 1
  )
    await copyFile(existsSync(raw) ? raw : exported, member0);
}

/** Whether a head must be trained (again): no export yet, or one of another ensemble size. */
function needsTraining(
  runDir: string,
  variant: string,
  metric: MetricName,
  members: number,
): boolean {
  return (
    !existsSync(modelPath(runDir, variant, metric)) ||
    ensembleSize(runDir, variant, metric) !== members
  );
}

/** Every file the stage writes for one model; without its .onnx the stage trains it again. */
export function modelFiles(runDir: string, variant: string, metric: MetricName): string[] {
  const members = Array.from({ length: MAX_ENSEMBLE_MEMBERS }, (_, k) => [
    memberPath(runDir, variant, metric, k),
    ...(k > 0 ? [historyPath(runDir, variant, metric, k)] : []),
  ]).flat();
  return [
    modelPath(runDir, variant, metric),
    normPath(runDir, variant, metric),
    historyPath(runDir, variant, metric),
    ensemblePath(runDir, variant, metric),
    ...members,
  ];
}

/** The target normalisation a model was trained with (undefined for models from before it). */
export async function readTargetNorm(
  runDir: string,
  variant: string,
  metric: MetricName,
): Promise<TargetNorm | undefined> {
  try {
    return JSON.parse(await readFile(normPath(runDir, variant, metric), "utf8")) as TargetNorm;
  } catch {
    return undefined;
  }
}

function pick(data: Float32Array, rowLen: number, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * rowLen);
  for (const [i, r] of rows.entries())
    out.set(data.subarray(r * rowLen, (r + 1) * rowLen), i * rowLen);
  return out;
}

async function runTrainStage(o: TrainStageOptions) {
  await checkTrainedStepEncoding(o.runDir, o.stepEncoding);
  await mkdir(join(o.runDir, "models"), { recursive: true });
  await writeFile(stepEncodingPath(o.runDir), `${JSON.stringify(o.stepEncoding)}\n`);
  const { train: trainRows, validation: valRows } = validationSplit(o.train.ids.length);
  const summary: Record<
    string,
    Record<
      string,
      {
        epochs: number;
        bestEpoch: number;
        valLoss: number;
        seconds: number;
        norm: TargetNorm;
        /** The members trained this time, when the head is an ensemble. */
        members?: Array<{ epochs: number; bestEpoch: number; valLoss: number }>;
      }
    >
  > = {};
  for (const variant of o.variants) {
    const spec = VARIANT_SPECS[variant];
    const features = featuresFor(o.train, o.width, spec.stepEncoding, o.stepEncoding);
    const rowLen = DENSE_STEPS * o.width;
    summary[variant] = {};
    for (const metric of METRIC_NAMES) {
      const path = modelPath(o.runDir, variant, metric);
      const members = o.ensemble[metric];
      if (!needsTraining(o.runDir, variant, metric, members)) continue;
      const started = performance.now();
      const rawTrain = pick(o.train.targets[metric], DENSE_STEPS, trainRows);
      const norm = fitTargetNorm(
        rawTrain,
        o.logQuality.includes(metric) ? "log-quality" : "value",
        metric,
      );
      await keepSingleAsMember(o.runDir, variant, metric, members);
      // The members' shared (read-only) training data, gathered once and only if one trains.
      const memberData = () => ({
        inputs: pick(features, rowLen, trainRows),
        targets: normaliseTargets(rawTrain, norm),
        n: trainRows.length,
        steps: DENSE_STEPS,
        width: o.width,
        ...(valRows.length
          ? {
              valInputs: pick(features, rowLen, valRows),
              valTargets: normaliseTargets(
                pick(o.train.targets[metric], DENSE_STEPS, valRows),
                norm,
              ),
              nVal: valRows.length,
            }
          : {}),
      });
      let data: ReturnType<typeof memberData> | undefined;
      const exports: Uint8Array[] = [];
      const trained: Array<{ epochs: number; bestEpoch: number; valLoss: number }> = [];
      for (let k = 0; k < members; k++) {
        const kept = memberPath(o.runDir, variant, metric, k);
        if (existsSync(kept)) {
          exports.push(new Uint8Array(await readFile(kept)));
          continue;
        }
        const label = members > 1 ? `${variant}/${metric} member ${k}` : `${variant}/${metric}`;
        const progress = o.progress?.(`train ${label}`);
        data ??= memberData();
        const result = await trainPredictor({
          ...data,
          config: {
            architecture: spec.architecture,
            hidden: o.hidden,
            mlp: o.mlp,
            maxEpochs: o.epochs[metric],
            batchSize: o.batch,
            patience: o.patience,
            lr: o.lr,
            diffWeight: o.diffWeight,
            tailPad: o.tailPad,
            ...(o.outputGrid ? { outputGrid: [...o.outputGrid] } : {}),
            dropout: o.dropout,
            threads: o.threads,
            seed: o.seed + k,
          },
          onProgress: progress && trainerProgress(progress),
        });
        progress?.stop();
        const onnx = exportPredictorOnnx(
          result.params,
          { architecture: spec.architecture, tailPad: o.tailPad, outputGrid: o.outputGrid },
          {
            outputAffine: norm,
            ...(o.curveEnvelope.includes(metric) ? { monotone: METRIC_DIRECTION[metric] } : {}),
          },
        );
        await mkdir(join(path, ".."), { recursive: true });
        if (members > 1) await writeFile(kept, onnx);
        exports.push(onnx);
        const best = result.history[result.bestEpoch];
        trained.push({
          epochs: result.history.length,
          bestEpoch: result.bestEpoch,
          // In normalised units (y'), comparable across metrics.
          valLoss: best?.valLoss ?? Number.NaN,
        });
        await writeFile(
          historyPath(o.runDir, variant, metric, k),
          `${JSON.stringify(result.history, null, 1)}\n`,
        );
        o.log?.(
          `trained ${label}: ${result.history.length} epochs, best val ${best?.valLoss.toFixed(5)}`,
        );
      }
      // A retrained model takes the dead zone again, chosen again on its own curves.
      await rm(rawModelPath(o.runDir, variant, metric), { force: true });
      await rm(deadZonePath(o.runDir), { force: true });
      await writeFile(normPath(o.runDir, variant, metric), `${JSON.stringify(norm)}\n`);
      await writeFile(`${path}.tmp`, meanOfModels(exports));
      await rename(`${path}.tmp`, path);
      if (members > 1)
        await writeFile(
          ensemblePath(o.runDir, variant, metric),
          `${JSON.stringify({ members, seeds: exports.map((_, k) => o.seed + k) })}\n`,
        );
      else await rm(ensemblePath(o.runDir, variant, metric), { force: true });
      summary[variant][metric] = {
        ...(trained[0] ?? { epochs: 0, bestEpoch: 0, valLoss: Number.NaN }),
        ...(members > 1 ? { members: trained } : {}),
        norm,
        seconds: (performance.now() - started) / 1000,
      };
    }
  }
  const deadZone = await applyDeadZone(o, valRows);
  return {
    trainPrompts: trainRows.length,
    valPrompts: valRows.length,
    models: summary,
    ...(deadZone ? { deadZone } : {}),
  };
}

/**
 * Applies `o.deadZone` to every exported model (model/curve-dead-zone.ts), unless the run's
 * models already carry that option's dead zone. `auto` chooses δ on the validation prompts with
 * the full models as trained; every variant then takes the same δ, so Table 1 compares the
 * architectures under one export.
 */
async function applyDeadZone(
  o: TrainStageOptions,
  valRows: number[],
): Promise<DeadZoneRecord | undefined> {
  if (deadZoneApplied(o.runDir, o.deadZone)) return readDeadZone(o.runDir);
  const models = o.variants.flatMap((v) => METRIC_NAMES.map((m) => [v, m] as const));
  for (const [v, m] of models)
    if (!existsSync(rawModelPath(o.runDir, v, m)))
      await copyFile(modelPath(o.runDir, v, m), rawModelPath(o.runDir, v, m));
  let delta: Record<MetricName, number> = { lsnr: 0, dsim: 0, iclip: 0 };
  let choice: DeadZoneChoice | undefined;
  if (o.deadZone === "auto" && valRows.length >= 2) {
    const rows = selectRows(o.train, valRows, o.width);
    const predicted = await predictCurves(
      o.ort,
      (m) => rawModelPath(o.runDir, "full", m),
      rows,
      o.width,
      VARIANT_SPECS.full.stepEncoding,
      o.stepEncoding,
    );
    choice = chooseDeadZone(
      curvesPerPrompt(predicted, rows.ids.length),
      curvesPerPrompt(rows.targets, rows.ids.length),
      o.plateau,
    );
    delta = choice.delta;
    o.log?.(
      `dead zone: δ ${METRIC_NAMES.map((m) => `${m} ${delta[m]}`).join(", ")} on ${rows.ids.length} validation prompts (score ${choice.score.toFixed(3)}, without ${choice.none.score.toFixed(3)}; Spearman ${choice.spearman.toFixed(3)}, without ${choice.none.spearman.toFixed(3)})`,
    );
  } else if (o.deadZone === "auto") o.log?.("dead zone: no validation prompts, none applied");
  else if (Array.isArray(o.deadZone)) delta = byMetric(o.deadZone);
  for (const [v, m] of models) {
    const path = modelPath(o.runDir, v, m);
    await writeFile(
      `${path}.tmp`,
      withDeadZone(await readFile(rawModelPath(o.runDir, v, m)), delta[m]),
    );
    await rename(`${path}.tmp`, path);
  }
  const record: DeadZoneRecord = { option: o.deadZone, delta, ...(choice ? { choice } : {}) };
  await writeFile(deadZonePath(o.runDir), `${JSON.stringify(record, null, 1)}\n`);
  return record;
}

type TrainSummary = Awaited<ReturnType<typeof runTrainStage>>;

export const trainStage: PipelineStage<TrainSummary> = {
  name: "train",
  rerun: (run) =>
    run.o.variants.some((v) =>
      METRIC_NAMES.some((m) => needsTraining(run.dir, v, m, byMetric(run.o.ensemble)[m])),
    ) || !deadZoneApplied(run.dir, run.o["curve-dead-zone"]),
  async run(run) {
    const o = run.o;
    return runTrainStage({
      runDir: run.dir,
      train: await run.promptRows("train"),
      width: (await run.promptSet()).width,
      variants: o.variants,
      hidden: o.hidden,
      mlp: o.mlp,
      epochs: byMetric(o.epochs),
      batch: o.batch,
      patience: o.patience,
      lr: o.lr,
      diffWeight: o["diff-weight"],
      tailPad: o["tail-pad"],
      ...(o["curve-output"] === "grid" ? { outputGrid: o.stepGrid } : {}),
      curveEnvelope: o["curve-envelope"],
      logQuality: o["log-quality"],
      deadZone: o["curve-dead-zone"],
      plateau: DEFAULT_PLATEAU,
      ort: run.ort,
      stepEncoding: await run.stepEncoding(),
      dropout: o.dropout,
      threads: o.threads,
      seed: o.seed,
      ensemble: byMetric(o.ensemble),
      log: run.log,
      progress: (label) => run.progress(label, "seq"),
    });
  },
};
