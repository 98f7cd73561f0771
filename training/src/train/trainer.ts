/**
 * The predictor training loop (SPEC §4): seeded init, per-epoch seeded shuffling, mini-batches
 * (last one partial, like torch's DataLoader without drop_last), Adam, dropout, validation loss
 * after each epoch, early stopping with patience, and an atomic checkpoint after each epoch.
 *
 * Reproducibility: every random stream is derived from (seed, epoch[, batch, sample]), never
 * from a running generator, so a run resumed from a checkpoint continues bit-identically (same
 * thread count) and the gradient does not depend on how a batch is split over threads.
 */
import { ShapeError, ValidationError } from "@budgetfusion/shared/errors";
import { deriveSeed, splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { headCount, type ModelConfig } from "../model/config";
import { curveLoss } from "../model/curve-loss";
import { initParams, type ParamMap, type ParamSpec, paramSpecs, viewParams } from "../model/params";
import { ADAM_DEFAULTS, Adam } from "./adam";
import { hasCheckpoint, readCheckpoint, writeCheckpoint } from "./checkpoint";
import { createGradEngine, type GradEngine } from "./grad-engine";
import { parseTrainConfig, type TrainConfig, type TrainConfigInput } from "./train-config";

interface EpochRecord {
  epoch: number;
  trainLoss: number;
  /** Validation MSE (the training MSE when there is no validation split). */
  valLoss: number;
  seconds: number;
  seqPerSec: number;
}

/** One progress event: after every batch, and once more per epoch with its validation loss. */
export interface TrainProgress {
  epoch: number;
  maxEpochs: number;
  /** Sequences of this epoch trained so far, of `sequencesPerEpoch`. */
  sequences: number;
  sequencesPerEpoch: number;
  /** Mean training loss of the epoch so far. */
  trainLoss: number;
  /** Set on the epoch's last event. */
  valLoss?: number;
}

export interface TrainInput {
  /** [n, steps, width] float32, batch-first. */
  inputs: Float32Array;
  /** [n, steps] (or [n, steps, 3] for bilstm-3head) targets in [0, 1]. */
  targets: Float32Array;
  n: number;
  steps: number;
  width: number;
  valInputs?: Float32Array;
  valTargets?: Float32Array;
  nVal?: number;
  config?: TrainConfigInput;
  /** Writes checkpoint.bfck here after every epoch. */
  checkpointDir?: string;
  /** Continue from checkpointDir's checkpoint when one exists. */
  resume?: boolean;
  onProgress?: (p: TrainProgress) => void;
}

export interface TrainResult {
  /** Parameters of the best epoch (lowest validation loss), PyTorch names and shapes. */
  params: ParamMap;
  history: EpochRecord[];
  /** 0-based epoch whose parameters are returned. */
  bestEpoch: number;
  model: ModelConfig;
  config: TrainConfig;
}

interface CheckpointMeta {
  config: TrainConfig;
  model: ModelConfig;
  steps: number;
  n: number;
  nextEpoch: number;
  adamStep: number;
  bestEpoch: number;
  bestVal: number;
  badEpochs: number;
  history: EpochRecord[];
}

function checkShapes(i: TrainInput, heads: number): void {
  const need = (name: string, a: Float32Array | undefined, len: number) => {
    if (!a || a.length !== len)
      throw new ShapeError(`${name}: expected ${len} floats, got ${a?.length ?? 0}`, {
        field: name,
      });
  };
  need("inputs", i.inputs, i.n * i.steps * i.width);
  need("targets", i.targets, i.n * i.steps * heads);
  if (i.nVal) {
    need("valInputs", i.valInputs, i.nVal * i.steps * i.width);
    need("valTargets", i.valTargets, i.nVal * i.steps * heads);
  }
  if (i.n < 1) throw new ValidationError("n: need at least one training sequence", { field: "n" });
}

/** The training objective (curveLoss per head and sequence, per element) on a dataset. */
async function meanLoss(
  engine: GradEngine,
  name: string,
  n: number,
  y: Float32Array,
  shape: { T: number; heads: number; diffWeight: number },
  chunk: number,
): Promise<number> {
  const { T, heads, diffWeight } = shape;
  let sum = 0;
  for (let s = 0; s < n; s += chunk) {
    const idx = Int32Array.from({ length: Math.min(chunk, n - s) }, (_, k) => s + k);
    const out = await engine.forward(name, idx);
    const err = out.map((v, k) => v - y[s * T * heads + k]);
    for (let b = 0; b < idx.length; b++)
      for (let h = 0; h < heads; h++)
        sum += curveLoss(err, b * T * heads + h, heads, T, diffWeight);
  }
  return sum / y.length;
}

export async function trainPredictor(input: TrainInput): Promise<TrainResult> {
  const config = parseTrainConfig(input.config);
  const model: ModelConfig = {
    architecture: config.architecture,
    width: input.width,
    hidden: config.hidden,
    mlp: config.mlp,
    layers: config.layers,
    dropout: config.dropout,
    tailPad: config.tailPad,
    ...(config.outputGrid ? { outputGrid: config.outputGrid } : {}),
  };
  const heads = headCount(model.architecture);
  checkShapes(input, heads);
  const specs: ParamSpec[] = paramSpecs(model);
  const engine = createGradEngine({
    cfg: model,
    specs,
    T: input.steps,
    heads,
    threads: config.threads,
    diffWeight: config.diffWeight,
  });
  try {
    return await runLoop(input, config, model, specs, engine);
  } finally {
    await engine.close();
  }
}

async function runLoop(
  input: TrainInput,
  config: TrainConfig,
  model: ModelConfig,
  specs: ParamSpec[],
  engine: GradEngine,
): Promise<TrainResult> {
  const { n, steps: T } = input;
  const params = engine.params;
  const adam = new Adam(params.length, { ...ADAM_DEFAULTS, lr: config.lr });
  const best = new Float32Array(params.length);
  let st = {
    nextEpoch: 0,
    bestEpoch: -1,
    bestVal: Number.POSITIVE_INFINITY,
    badEpochs: 0,
    history: [] as EpochRecord[],
  };
  if (input.resume && input.checkpointDir && hasCheckpoint(input.checkpointDir)) {
    const ck = readCheckpoint<CheckpointMeta>(input.checkpointDir);
    if (
      JSON.stringify(ck.meta.model) !== JSON.stringify(model) ||
      ck.meta.steps !== T ||
      ck.meta.n !== n
    )
      throw new ValidationError("resume: checkpoint was written for another model or dataset", {
        field: "resume",
      });
    params.set(ck.blobs.get("params") ?? new Float32Array(0));
    adam.m.set(ck.blobs.get("adam.m") ?? new Float32Array(0));
    adam.v.set(ck.blobs.get("adam.v") ?? new Float32Array(0));
    best.set(ck.blobs.get("best") ?? new Float32Array(0));
    adam.step = ck.meta.adamStep;
    st = {
      nextEpoch: ck.meta.nextEpoch,
      bestEpoch: ck.meta.bestEpoch,
      bestVal: ck.meta.bestVal,
      badEpochs: ck.meta.badEpochs,
      history: ck.meta.history,
    };
  } else {
    initParams(specs, params, config.seed);
    best.set(params);
  }
  await engine.setDataset("train", input.inputs, input.targets);
  const hasVal = (input.nVal ?? 0) > 0 && input.valInputs && input.valTargets;
  if (hasVal && input.valInputs && input.valTargets)
    await engine.setDataset("val", input.valInputs, input.valTargets);
  const batches = Math.ceil(n / config.batchSize);
  const stopped = st.badEpochs >= config.patience;
  for (let epoch = st.nextEpoch; epoch < config.maxEpochs && !stopped; epoch++) {
    const t0 = performance.now();
    const order = Int32Array.from({ length: n }, (_, i) => i);
    splitMix32Random(deriveSeed(config.seed, 0x5f, epoch)).shuffle(order);
    let lossSum = 0;
    for (let b = 0; b < batches; b++) {
      const idx = order.subarray(b * config.batchSize, Math.min(n, (b + 1) * config.batchSize));
      const loss = await engine.step("train", idx, deriveSeed(config.seed, 0xd0, epoch, b));
      adam.update(params, engine.grads);
      lossSum += loss * idx.length;
      const done = Math.min(n, (b + 1) * config.batchSize);
      if (b < batches - 1)
        input.onProgress?.({
          epoch,
          maxEpochs: config.maxEpochs,
          sequences: done,
          sequencesPerEpoch: n,
          trainLoss: lossSum / done,
        });
    }
    const trainLoss = lossSum / n;
    const valLoss =
      hasVal && input.valTargets
        ? await meanLoss(
            engine,
            "val",
            input.nVal ?? 0,
            input.valTargets,
            { T, heads: headCount(model.architecture), diffWeight: config.diffWeight },
            64,
          )
        : trainLoss;
    const seconds = (performance.now() - t0) / 1000;
    st.history.push({ epoch, trainLoss, valLoss, seconds, seqPerSec: n / seconds });
    if (valLoss < st.bestVal) {
      st.bestVal = valLoss;
      st.bestEpoch = epoch;
      st.badEpochs = 0;
      best.set(params);
    } else st.badEpochs += 1;
    input.onProgress?.({
      epoch,
      maxEpochs: config.maxEpochs,
      sequences: n,
      sequencesPerEpoch: n,
      trainLoss,
      valLoss,
    });
    st.nextEpoch = epoch + 1;
    if (input.checkpointDir) {
      const meta: CheckpointMeta = { config, model, steps: T, n, adamStep: adam.step, ...st };
      writeCheckpoint(input.checkpointDir, meta, {
        params,
        "adam.m": adam.m,
        "adam.v": adam.v,
        best,
      });
    }
    if (st.badEpochs >= config.patience) break;
  }
  const out = viewParams(specs, Float32Array.from(best)).map;
  return { params: out, history: st.history, bestEpoch: st.bestEpoch, model, config };
}
