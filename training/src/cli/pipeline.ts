/**
 * `npm run pipeline -- --model DIR --clip DIR --dreamsim DIR --prompts FILE --max-prompts N
 *  [--out runs/<name>] [--workers URL,URL] [--scheduler JSON] ...` and `npm run pipeline:smoke --
 *  --fixtures DIR`: the whole chain of SPEC §1-§6 (sampling, dataset, metrics, training + ONNX
 * export, evaluation report, bundle), resumable by stage (run-state.ts). Options:
 * pipeline/pipeline-options.ts; documentation: docs/training.md.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadClipTextEmbedder } from "@budgetfusion/inference/embedding/clip-text-embedder";
import { loadImageEmbedder } from "@budgetfusion/inference/embedding/image-embedder";
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { DENSE_REFERENCE_STEPS, PAPER_REFERENCE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import { DEFAULT_PLATEAU } from "@budgetfusion/shared/plateau/step-budget";
import type { MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";
import { defaultStepEncoding } from "@budgetfusion/shared/predictor/step-encoding";
import { writeBundle } from "../bundle/write-bundle";
import { buildDataset } from "../dataset/dataset-builder";
import type { Generator } from "../dataset/generator";
import { HttpGenerator } from "../dataset/http-generator";
import { InProcessGenerator } from "../dataset/in-process-generator";
import { consoleProgress } from "../dataset/progress";
import { openDatasetDb } from "../db/open-dataset-db";
import { measureSdCost, type SdCost, sdCostSchema } from "../eval/sd-cost";
import { computeDatasetMetrics, readMeasuredMetrics } from "../metrics/dataset-metrics";
import { runEvalStage } from "../pipeline/eval-stage";
import {
  type PipelineOptions,
  pipelineArgsSchema,
  resolvePipelineOptions,
} from "../pipeline/pipeline-options";
import { markStage, readRunState, STAGES, type Stage } from "../pipeline/run-state";
import {
  checkTrainedStepEncoding,
  modelPath,
  readTargetNorm,
  runTrainStage,
} from "../pipeline/train-stage";
import { promptRows, trainingDataHash } from "../pipeline/training-data";
import { writeReport } from "../report/write-report";
import { readPromptSet, writePromptSet } from "../sampling/prompt-set";
import { samplePrompts } from "../sampling/sample-prompts";
import { parseCli } from "./cli-args";

const log = (line: string) => process.stderr.write(`[pipeline] ${line}\n`);

function parseFlags(): { options: PipelineOptions } {
  const keys = Object.keys(pipelineArgsSchema.shape);
  const { values } = parseArgs({
    options: Object.fromEntries(
      keys.map((k) => [
        k,
        { type: k === "smoke" || k === "mini-world" ? ("boolean" as const) : ("string" as const) },
      ]),
    ),
  });
  const args = parseCli(pipelineArgsSchema, values);
  return { options: resolvePipelineOptions(args, new Set(Object.keys(values))) };
}

async function schedulerConfigOf(o: PipelineOptions): Promise<Record<string, unknown>> {
  const base = o.model
    ? (JSON.parse(
        await readFile(join(o.model, "scheduler", "scheduler_config.json"), "utf8"),
      ) as Record<string, unknown>)
    : {};
  return { ...base, ...o.scheduler };
}

async function main(): Promise<void> {
  const { options: o } = parseFlags();
  const runDir = resolve(o.out);
  await mkdir(runDir, { recursive: true });
  const state = await readRunState(runDir);
  const ort = createNodeOrt();
  const started = performance.now();
  const timings: Partial<Record<Stage, number>> = {};
  const stop = STAGES.indexOf(o.until);
  const todo = (stage: Stage) => !state.stages[stage] && STAGES.indexOf(stage) <= stop;
  const finish = async (stage: Stage, t0: number, summary: unknown) => {
    timings[stage] = (performance.now() - t0) / 1000;
    await markStage(runDir, state, stage, timings[stage] ?? 0, summary);
    log(`${stage} done in ${timings[stage]?.toFixed(1)} s`);
  };

  if (todo("sample")) {
    const t0 = performance.now();
    const embedder = await loadClipTextEmbedder(ort, o.clip);
    const result = await samplePrompts(embedder, {
      captionsPath: o.prompts.split(","),
      column: o.column,
      threshold: o.threshold,
      order: o.order,
      seed: o.seed,
      maxCandidates: o["max-candidates"],
      maxPrompts: o["max-prompts"],
    });
    await embedder.release();
    await writePromptSet(runDir, result);
    await finish("sample", t0, result.stats);
  }
  if (stop < STAGES.indexOf("dataset")) return;
  const set = await readPromptSet(runDir);
  const stepEncoding = defaultStepEncoding(set.width, o["step-position"], o["step-norm"]);
  const texts = new Map(set.prompts.map((p) => [p.id, p.text]));

  let generator: Generator | undefined;
  const getGenerator = async () => {
    generator ??= o.workers
      ? new HttpGenerator({
          urls: o.workers.split(","),
          token: o["worker-token"],
          modelId: o.model ? resolve(o.model).split("/").pop() : undefined,
        })
      : await InProcessGenerator.load(o.model as string);
    return generator;
  };
  const db = openDatasetDb(join(runDir, "dataset.sqlite"));
  const generation = {
    guidanceScale: o.guidance,
    width: o.width,
    height: o.height,
    negativePrompt: o["negative-prompt"],
    scheduler: Object.keys(o.scheduler).length ? o.scheduler : undefined,
  };
  try {
    if (todo("dataset")) {
      const t0 = performance.now();
      const report = await buildDataset({
        runDir,
        db,
        generator: await getGenerator(),
        prompts: set.prompts,
        stepGrid: o.stepGrid,
        seeds: o.seeds,
        ...generation,
        concurrency: o.concurrency,
        progress: consoleProgress("dataset"),
      });
      await finish("dataset", t0, report);
    }
    const metricModels = async () => {
      const clip = await loadImageEmbedder(ort, o.clip, "--clip");
      const dsim =
        o.dreamsim === o.clip ? clip : await loadImageEmbedder(ort, o.dreamsim, "--dreamsim");
      return { clip, dsim };
    };
    if (todo("metrics")) {
      const t0 = performance.now();
      const models = await metricModels();
      const res = await computeDatasetMetrics({
        runDir,
        db,
        models,
        referenceSteps: DENSE_REFERENCE_STEPS,
        progress: consoleProgress("metrics"),
      });
      await finish("metrics", t0, res);
    }
    if (stop < STAGES.indexOf("train")) return;
    const measured = readMeasuredMetrics(db);
    let trainRows: ReturnType<typeof promptRows> | undefined;
    const trainPrompts = () => (trainRows ??= promptRows(set, measured, o.stepGrid, "train"));
    const epochs = { lsnr: o.epochs[0], dsim: o.epochs[1], iclip: o.epochs[2] } as Record<
      MetricName,
      number
    >;
    // Also rerun when a requested variant's model file is missing (the stage skips existing ones).
    const missingModel = o.variants.some((v) =>
      (["lsnr", "dsim", "iclip"] as const).some((m) => !existsSync(modelPath(runDir, v, m))),
    );
    if (todo("train") || (missingModel && STAGES.indexOf("train") <= stop)) {
      const t0 = performance.now();
      const train = trainPrompts();
      const res = await runTrainStage({
        runDir,
        train,
        width: set.width,
        variants: o.variants,
        hidden: o.hidden,
        mlp: o.mlp,
        epochs,
        batch: o.batch,
        patience: o.patience,
        lr: o.lr,
        diffWeight: o["diff-weight"],
        tailPad: o["tail-pad"],
        stepEncoding,
        dropout: o.dropout,
        threads: o.threads,
        seed: o.seed,
        log,
      });
      await finish("train", t0, res);
    }
    const reportDir = resolve(o["reports-dir"], o.name);
    const settings = {
      name: o.name,
      model: o.model ?? o.workers,
      clip: o.clip,
      dreamsim: o.dreamsim,
      prompts: o.prompts,
      max_prompts: o["max-prompts"],
      threshold: o.threshold,
      seeds: o.seeds,
      width: o.width,
      height: o.height,
      guidance: o.guidance,
      scheduler_overrides: o.scheduler,
      hidden: o.hidden,
      mlp: o.mlp,
      epochs: o.epochs,
      batch: o.batch,
      patience: o.patience,
      lr: o.lr,
      diff_weight: o["diff-weight"],
      tail_pad: o["tail-pad"],
      step_position: o["step-position"],
      step_norm: o["step-norm"],
      dropout: o.dropout,
      plateau: DEFAULT_PLATEAU,
    };
    if (todo("evaluate") || todo("bundle")) await checkTrainedStepEncoding(runDir, stepEncoding);
    if (todo("evaluate")) {
      const t0 = performance.now();
      const cost: SdCost = o.flops
        ? sdCostSchema.parse(JSON.parse(await readFile(o.flops, "utf8")))
        : await measureSdCost(ort, o.model as string, {
            width: o.width,
            height: o.height,
            guidanceScale: o.guidance,
          });
      const models = await metricModels();
      const { evaluation, predicted } = await runEvalStage({
        runDir,
        db,
        ort,
        test: promptRows(set, measured, o.stepGrid, "test"),
        train: trainPrompts(),
        texts,
        width: set.width,
        variants: o.variants,
        measured,
        stepGrid: o.stepGrid,
        cost,
        plateau: DEFAULT_PLATEAU,
        generator: await getGenerator(),
        metricModels: models,
        seeds: o.seeds,
        generation,
        referenceSteps: PAPER_REFERENCE_STEPS,
        stepEncoding,
        log,
      });
      const files = await writeReport({
        dir: reportDir,
        model: o.name,
        evaluation,
        settings,
        predicted,
        measured,
        texts,
        stepGrid: o.stepGrid,
        cost,
      });
      await finish("evaluate", t0, {
        reportDir,
        files,
        relative_quality: evaluation.relative_quality,
      });
    }
    if (todo("bundle")) {
      const t0 = performance.now();
      const hash = trainingDataHash(db);
      const evaluation = JSON.parse(
        await readFile(join(reportDir, "evaluation.json"), "utf8"),
      ) as Record<string, unknown>;
      // lo/hi of the per-metric target normalisation the bundled (full) models were trained with.
      const targetNorm = Object.fromEntries(
        await Promise.all(
          (["lsnr", "dsim", "iclip"] as const).map(
            async (m) => [m, await readTargetNorm(runDir, "full", m)] as const,
          ),
        ),
      );
      const { dir, manifest } = await writeBundle({
        bundlesDir: o["bundles-dir"],
        version: o.version ?? `${o.name}-${hash.slice(0, 8)}`,
        predictorFiles: {
          lsnr: modelPath(runDir, "full", "lsnr"),
          dsim: modelPath(runDir, "full", "dsim"),
          iclip: modelPath(runDir, "full", "iclip"),
        },
        hidden: o.hidden,
        layers: 2,
        embeddingWidth: set.width,
        stepEncoding,
        clipDir: o.clip,
        diffusionModelId: (await getGenerator()).modelId,
        schedulerConfig: await schedulerConfigOf(o),
        plateau: DEFAULT_PLATEAU,
        trainingDataHash: hash,
        evaluation: {
          report: `reports/${o.name}/evaluation.json`,
          n_test: evaluation.n_test,
          relative_quality: evaluation.relative_quality,
          table1_mae_dense: evaluation.table1_mae_dense,
          t_star: (evaluation.t_star as { with_floor: unknown }).with_floor,
          time: evaluation.time,
          target_normalisation: targetNorm,
        },
        stepGrid: o.stepGrid,
        generation: { guidanceScale: o.guidance, width: o.width, height: o.height },
      });
      await finish("bundle", t0, { dir, version: manifest.version });
      console.log(`bundle ${manifest.version} written to ${dir}`);
    }
  } finally {
    db.$client.close();
    await generator?.close();
  }
  log(
    `finished in ${((performance.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(timings)}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
