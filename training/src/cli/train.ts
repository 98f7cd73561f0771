/**
 * `npm run train -- --data DATASET.json --out DIR [flags]`: trains the SPEC §4 predictor from an
 * on-disk dataset (format: train/dataset-file.ts) and writes into DIR:
 *   checkpoint.bfck   (after every epoch; --resume continues from it bit-identically)
 *   predictor.onnx    (best epoch; bilstm-3head also writes predictor-<metric>.onnx per head)
 *   training.json     (configs, dataset header, per-epoch history, best epoch)
 * Flags: --arch bilstm|mlp-tanh|bilstm-3head, --metric NAME (pick one target column of a
 * multi-metric dataset), --paper (H=512, M=128), --hidden, --mlp, --layers, --dropout, --lr,
 * --diff-weight (first-difference loss term, model/curve-loss.ts),
 * --tail-pad (BiLSTM tail padding, model/config.ts), --batch, --epochs, --patience, --seed, --threads, --resume.
 * A bad flag prints one line and exits with status 2.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BudgetFusionError } from "@budgetfusion/shared/errors";
import { METRIC_NAMES } from "@budgetfusion/shared/predictor/bundle-manifest";
import { z } from "zod";
import { exportPredictorOnnx } from "../export/onnx-export";
import { ARCHITECTURES } from "../model/config";
import { readPredictorDataset } from "../train/dataset-file";
import { PAPER_SIZES } from "../train/train-config";
import { type TrainProgress, trainPredictor } from "../train/trainer";

class UsageError extends Error {}

const num = (flag: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const x = Number(v);
      if (!Number.isFinite(x)) {
        ctx.addIssue({ code: "custom", message: `--${flag}: not a number: ${v}` });
        return z.NEVER;
      }
      return x;
    });

const flagsSchema = z.object({
  data: z.string({ message: "--data: required (path to dataset.json)" }).min(1),
  out: z.string({ message: "--out: required (output directory)" }).min(1),
  arch: z
    .enum(ARCHITECTURES, { message: `--arch: one of ${ARCHITECTURES.join(", ")}` })
    .default("bilstm"),
  metric: z
    .enum(METRIC_NAMES, { message: `--metric: one of ${METRIC_NAMES.join(", ")}` })
    .optional(),
  paper: z.boolean().default(false),
  resume: z.boolean().default(false),
  hidden: num("hidden"),
  mlp: num("mlp"),
  layers: num("layers"),
  dropout: num("dropout"),
  lr: num("lr"),
  "diff-weight": num("diff-weight"),
  "tail-pad": num("tail-pad"),
  batch: num("batch"),
  epochs: num("epochs"),
  patience: num("patience"),
  seed: num("seed"),
  threads: num("threads"),
});

function parseFlags(argv: string[]) {
  const str = { type: "string" } as const;
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: {
        data: str,
        out: str,
        arch: str,
        metric: str,
        hidden: str,
        mlp: str,
        layers: str,
        dropout: str,
        lr: str,
        "diff-weight": str,
        "tail-pad": str,
        batch: str,
        epochs: str,
        patience: str,
        seed: str,
        threads: str,
        paper: { type: "boolean" },
        resume: { type: "boolean" },
      },
    }).values;
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const r = flagsSchema.safeParse(values);
  if (!r.success) throw new UsageError(r.error.issues[0].message);
  return r.data;
}

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

function fmtEta(s: number): string {
  const t = Math.max(0, Math.round(s));
  return `${Math.floor(t / 3600)}:${String(Math.floor(t / 60) % 60).padStart(2, "0")}:${String(t % 60).padStart(2, "0")}`;
}

function progressPrinter(): (p: TrainProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    const endOfEpoch = p.valLoss !== undefined;
    if (!endOfEpoch && now - last < 10_000) return;
    last = now;
    const val = endOfEpoch ? `  val ${p.valLoss?.toFixed(5)}` : "";
    console.log(
      `epoch ${p.epoch + 1}/${p.maxEpochs}  batch ${p.batch}/${p.batches}  ${p.seqPerSec.toFixed(1)} seq/s  loss ${p.trainLoss.toFixed(5)}${val}  ETA ${fmtEta(p.etaSeconds)}`,
    );
  };
}

async function main(argv: string[]): Promise<void> {
  const f = parseFlags(argv);
  const ds = readPredictorDataset(f.data);
  const h = ds.header;
  const pick = (t: Float32Array) => selectTargets(t, h.metrics, f.arch, f.metric);
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
  mkdirSync(f.out, { recursive: true });
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
    onProgress: progressPrinter(),
  });
  const files: string[] = [];
  const write = (name: string, bytes: Uint8Array) => {
    writeFileSync(join(f.out, name), bytes);
    files.push(name);
  };
  write("predictor.onnx", exportPredictorOnnx(r.params, r.model));
  if (f.arch === "bilstm-3head")
    h.metrics.forEach((m, i) =>
      write(`predictor-${m}.onnx`, exportPredictorOnnx(r.params, r.model, { head: i })),
    );
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
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof UsageError) {
    console.error(`train: ${e.message}`);
    process.exit(2);
  }
  if (e instanceof BudgetFusionError) {
    console.error(`train: ${e.message}`);
    process.exit(e.code === "invalid_request" ? 2 : 1);
  }
  console.error(e);
  process.exit(1);
});
