/**
 * `npm run train -- --data DATASET.json --out DIR [flags]`: trains the SPEC §4 predictor from an
 * on-disk dataset (format: train/dataset-file.ts) and writes into DIR:
 *   checkpoint.bfck   (after every epoch; --resume continues from it bit-identically)
 *   predictor.onnx    (best epoch; bilstm-3head also writes predictor-<metric>.onnx per head)
 *   training.json     (configs, dataset header, per-epoch history, best epoch)
 * Flags: `--help` (the table below); exit codes: cli.ts.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BudgetFusionError, ConfigError } from "@budgetfusion/shared/errors";
import { METRIC_NAMES } from "@budgetfusion/shared/predictor/bundle-manifest";
import { z } from "zod";
import { exportPredictorOnnx } from "../export/onnx-export";
import { ARCHITECTURES } from "../model/config";
import { consoleProgress } from "../progress/progress";
import { readPredictorDataset } from "../train/dataset-file";
import { PAPER_SIZES, parseTrainConfig, type TrainConfig } from "../train/train-config";
import { trainerProgress } from "../train/train-progress";
import { trainPredictor } from "../train/trainer";
import {
  type Cli,
  type FlagValues,
  isEntryPoint,
  runCli,
  switchFlag,
  UsageError,
  valueFlag,
} from "./cli";

const DEFAULTS = parseTrainConfig({});
/** A number flag; absent = the training config's default (shown in the help). */
const num = (value: string, help: string, key: keyof TrainConfig) =>
  valueFlag(value, `${help} (default: ${DEFAULTS[key]})`, z.coerce.number().optional());

const TRAIN_FLAGS = {
  data: valueFlag("FILE", "dataset.json (train/dataset-file.ts)", z.string().min(1)),
  out: valueFlag("DIR", "output folder", z.string().min(1)),
  arch: valueFlag(
    ARCHITECTURES.join("|"),
    "network",
    z.enum(ARCHITECTURES, { message: `one of ${ARCHITECTURES.join(", ")}` }).default("bilstm"),
  ),
  metric: valueFlag(
    METRIC_NAMES.join("|"),
    "target column of a multi-metric dataset (single-head networks)",
    z.enum(METRIC_NAMES, { message: `one of ${METRIC_NAMES.join(", ")}` }).optional(),
  ),
  paper: switchFlag(
    `the paper's sizes (H=${PAPER_SIZES.hidden}, M=${PAPER_SIZES.mlp}, ${PAPER_SIZES.layers} layers)`,
  ),
  resume: switchFlag("continue from --out's checkpoint.bfck"),
  hidden: num("H", "LSTM hidden size", "hidden"),
  mlp: num("M", "MLP head width", "mlp"),
  layers: num("N", "LSTM layers", "layers"),
  dropout: num("P", "dropout on the LSTM output", "dropout"),
  lr: num("RATE", "Adam learning rate", "lr"),
  "diff-weight": num("W", "first-difference loss weight (model/curve-loss.ts)", "diffWeight"),
  "tail-pad": num("N", "BiLSTM tail padding (model/config.ts)", "tailPad"),
  batch: num("N", "batch size", "batchSize"),
  epochs: num("N", "maximum epochs", "maxEpochs"),
  patience: num("N", "early stopping: epochs without a better validation loss", "patience"),
  seed: num("N", "seed", "seed"),
  threads: num("N", "threads (1 = main thread)", "threads"),
};

/** The flag that sets each config key, to name it when the config rejects a value. */
const CONFIG_FLAG: Partial<Record<keyof TrainConfig, string>> = {
  architecture: "arch",
  batchSize: "batch",
  maxEpochs: "epochs",
  diffWeight: "diff-weight",
  tailPad: "tail-pad",
};

/** Picks target columns: all of them for 3-head, the --metric column (or the only one) else. */
function selectTargets(
  targets: Float32Array,
  metrics: readonly string[],
  arch: string,
  metric?: string,
): Float32Array {
  const k = metrics.length;
  if (arch === "bilstm-3head") {
    if (k !== 3) throw new UsageError(`--arch bilstm-3head: dataset has ${k} metric(s), needs 3`);
    return targets;
  }
  const col = metric ? metrics.indexOf(metric) : k === 1 ? 0 : -1;
  if (col < 0)
    throw new UsageError(
      metric
        ? `--metric: dataset has no ${metric} (has ${metrics.join(", ")})`
        : `--metric: required, dataset has ${metrics.join(", ")}`,
    );
  if (k === 1) return targets;
  return Float32Array.from({ length: targets.length / k }, (_, i) => targets[i * k + col]);
}

/** The dataset --data names; what is wrong with it is a wrong --data. */
function readDataset(path: string) {
  try {
    return readPredictorDataset(path);
  } catch (e) {
    if (e instanceof BudgetFusionError) throw new UsageError(`--data: ${e.message}`);
    throw e;
  }
}

/** The training config of the flags, validated here so a bad value names its flag. */
function trainConfigOf(f: FlagValues<typeof TRAIN_FLAGS>) {
  const config = {
    architecture: f.arch,
    ...(f.paper
      ? { hidden: PAPER_SIZES.hidden, mlp: PAPER_SIZES.mlp, layers: PAPER_SIZES.layers }
      : {}),
    ...Object.fromEntries(
      Object.entries({
        hidden: f.hidden,
        mlp: f.mlp,
        layers: f.layers,
        dropout: f.dropout,
        lr: f.lr,
        diffWeight: f["diff-weight"],
        tailPad: f["tail-pad"],
        batchSize: f.batch,
        maxEpochs: f.epochs,
        patience: f.patience,
        seed: f.seed,
        threads: f.threads,
      }).filter(([, v]) => v !== undefined),
    ),
  };
  try {
    parseTrainConfig(config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const key = (e.field ?? "").replace(/^config\./, "") as keyof TrainConfig;
    throw new UsageError(`--${CONFIG_FLAG[key] ?? key}: ${e.message.replace(/^[^:]*: /, "")}`);
  }
  return config;
}

export const TRAIN_CLI: Cli<typeof TRAIN_FLAGS> = {
  name: "train",
  usage: "npm run train --",
  summary: "Train the step-budget predictor (SPEC §4) on a dataset file and export it to ONNX.",
  flags: TRAIN_FLAGS,
  epilog: "Details: docs/training.md",
  main: async ({ args: f }) => {
    const ds = readDataset(f.data);
    const h = ds.header;
    const pick = (t: Float32Array) => selectTargets(t, h.metrics, f.arch, f.metric);
    const config = trainConfigOf(f);
    mkdirSync(f.out, { recursive: true });
    const progress = consoleProgress("train", { unit: "seq" });
    const r = await trainPredictor({
      inputs: ds.train.inputs,
      targets: pick(ds.train.targets),
      n: ds.train.n,
      steps: h.steps,
      width: h.width,
      ...(ds.val
        ? { valInputs: ds.val.inputs, valTargets: pick(ds.val.targets), nVal: ds.val.n }
        : {}),
      config,
      checkpointDir: f.out,
      resume: f.resume,
      onProgress: trainerProgress(progress),
    });
    progress.stop();
    const files: string[] = [];
    const write = (name: string, bytes: Uint8Array) => {
      writeFileSync(join(f.out, name), bytes);
      files.push(name);
    };
    write("predictor.onnx", exportPredictorOnnx(r.params, r.model));
    if (f.arch === "bilstm-3head")
      for (const [i, m] of h.metrics.entries())
        write(`predictor-${m}.onnx`, exportPredictorOnnx(r.params, r.model, { head: i }));
    const summary = {
      dataset: { path: f.data, header: h },
      metric: f.metric ?? null,
      config: r.config,
      model: r.model,
      bestEpoch: r.bestEpoch,
      history: r.history,
      files,
    };
    writeFileSync(join(f.out, "training.json"), `${JSON.stringify(summary, null, 2)}\n`);
    const best = r.history.find((e) => e.epoch === r.bestEpoch);
    console.log(
      `done: best epoch ${r.bestEpoch + 1}, val loss ${best?.valLoss.toFixed(5)}; wrote ${files.join(", ")} and training.json to ${f.out}`,
    );
  },
};

if (isEntryPoint(import.meta.url)) runCli(TRAIN_CLI);
