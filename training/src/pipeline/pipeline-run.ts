/**
 * What the stages of one pipeline run share: the options, the run directory, and the inputs
 * later stages read from earlier ones (the prompt set, the dataset database, the measured
 * metrics), each loaded on first use so a resumed run opens only what its remaining stages
 * need. Also the heavy resources more than one stage uses (the generator, the metric models),
 * created once and released by close().
 */
import { join, resolve } from "node:path";
import { loadImageEmbedder } from "@budgetfusion/inference/embedding/image-embedder";
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import type { StepEncoding } from "@budgetfusion/shared/predictor/bundle-manifest";
import { defaultStepEncoding } from "@budgetfusion/shared/predictor/step-encoding";
import type { Generator } from "../dataset/generator";
import { HttpGenerator } from "../dataset/http-generator";
import { InProcessGenerator } from "../dataset/in-process-generator";
import { type DatasetDb, openDatasetDb } from "../db/open-dataset-db";
import { readMeasuredMetrics } from "../metrics/dataset-metrics";
import type { MetricModels, MetricValues } from "../metrics/perceptual-metrics";
import { consoleProgress, type ProgressSink } from "../progress/progress";
import { type PromptSet, readPromptSet } from "../sampling/prompt-set";
import type { PipelineOptions } from "./pipeline-options";
import type { Stage } from "./run-state";
import { type PromptRows, promptRows } from "./training-data";

export interface PipelineStage<Summary = unknown> {
  name: Stage;
  /** Whether to run again although state.json records the stage done (its output is gone). */
  rerun?(run: PipelineRun): boolean;
  /** Does the work; the summary goes into state.json. */
  run(run: PipelineRun): Promise<Summary>;
}

export class PipelineRun {
  readonly dir: string;
  readonly ort = createNodeOrt();
  private set?: PromptSet;
  private database?: DatasetDb;
  private gen?: Promise<Generator>;
  private models?: Promise<MetricModels>;
  private metrics?: ReadonlyMap<number, ReadonlyMap<number, MetricValues>>;
  private rows = new Map<"train" | "test", PromptRows>();

  constructor(
    readonly o: PipelineOptions,
    readonly log: (line: string) => void,
    /** A progress reporter per long loop; silent in tests. */
    readonly progress: (label: string, unit: string) => ProgressSink = (label, unit) =>
      consoleProgress(label, { unit }),
  ) {
    this.dir = resolve(o.out);
  }

  /** The sampled prompts (sample stage output). */
  async promptSet(): Promise<PromptSet> {
    this.set ??= await readPromptSet(this.dir);
    return this.set;
  }

  /** The step encoding t̄ the predictors use, at the prompt embedding's width. */
  async stepEncoding(): Promise<StepEncoding> {
    const { width } = await this.promptSet();
    return defaultStepEncoding(width, this.o["step-position"], this.o["step-norm"]);
  }

  async texts(): Promise<ReadonlyMap<number, string>> {
    return new Map((await this.promptSet()).prompts.map((p) => [p.id, p.text]));
  }

  /** `<run>/dataset.sqlite` (dataset and metrics stages' output). */
  db(): DatasetDb {
    this.database ??= openDatasetDb(join(this.dir, "dataset.sqlite"));
    return this.database;
  }

  /** Seed-averaged metrics per prompt and step (metrics stage output). */
  measured(): ReadonlyMap<number, ReadonlyMap<number, MetricValues>> {
    this.metrics ??= readMeasuredMetrics(this.db());
    return this.metrics;
  }

  /** Embeddings and dense targets of a split's prompts whose metrics are complete. */
  async promptRows(split: "train" | "test"): Promise<PromptRows> {
    let rows = this.rows.get(split);
    if (rows === undefined) {
      rows = promptRows(await this.promptSet(), this.measured(), this.o.stepGrid, split);
      this.rows.set(split, rows);
    }
    return rows;
  }

  /** The text-to-image generator: GPU workers over HTTP (--workers) or the model in-process. */
  generator(): Promise<Generator> {
    const o = this.o;
    this.gen ??= o.workers
      ? Promise.resolve(
          new HttpGenerator({
            urls: o.workers.split(","),
            token: o["worker-token"],
            modelId: o.model ? resolve(o.model).split("/").pop() : undefined,
          }),
        )
      : InProcessGenerator.load(o.model as string);
    return this.gen;
  }

  /** The CLIP and D-SIM image models of SPEC §3 (one model when --dreamsim is --clip). */
  metricModels(): Promise<MetricModels> {
    this.models ??= (async () => {
      const clip = await loadImageEmbedder(this.ort, this.o.clip, "--clip");
      const dsim =
        this.o.dreamsim === this.o.clip
          ? clip
          : await loadImageEmbedder(this.ort, this.o.dreamsim, "--dreamsim");
      return { clip, dsim };
    })();
    return this.models;
  }

  async close(): Promise<void> {
    this.database?.$client.close();
    const models = await this.models?.catch(() => undefined);
    await models?.clip.release();
    if (models && models.dsim !== models.clip) await models.dsim.release();
    await (await this.gen?.catch(() => undefined))?.close();
  }
}
