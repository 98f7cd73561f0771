/**
 * Bundle stage (docs/training.md §6). Input: the full variant's three ONNX models and their
 * target normalisation (train stage), the report's evaluation.json (evaluate stage; also the
 * allocate mode's calibration and price table, the manifest's `allocation` and
 * `allocation_prices`), the CLIP
 * text model to ship (--clip), the dataset rows (for training_data_hash). Output:
 * `<bundles-dir>/<version>/manifest.json` + files, by default inside the run folder
 * (`runs/<name>/bundles/`, ignored by git); `--publish` then copies it into artifacts/bundles/
 * (publish-bundle.ts). With --edge-form distilled the bundle also carries a student of the full
 * models (distill/run-edge-form.ts); one below its agreement bar fails the stage, naming the bar.
 * Summary: the bundle's folder and version (and the edge form's agreement).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_PLATEAU } from "@budgetfusion/shared/plateau/step-budget";
import {
  bundleManifestSchema,
  type EdgeFormAgreement,
  METRIC_NAMES,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import { writeBundle } from "../bundle/write-bundle";
import type { BuiltEdgeForm } from "../distill/build-edge-form";
import { distilledEdgeFormOfRun } from "../distill/run-edge-form";
import { reportDirOf } from "./eval-stage";
import type { PipelineOptions } from "./pipeline-options";
import type { PipelineStage } from "./pipeline-run";
import { checkTrainedStepEncoding, modelPath, readTargetNorm } from "./train-stage";
import { trainingDataHash } from "./training-data";

async function schedulerConfigOf(o: PipelineOptions): Promise<Record<string, unknown>> {
  const base = o.model
    ? (JSON.parse(
        await readFile(join(o.model, "scheduler", "scheduler_config.json"), "utf8"),
      ) as Record<string, unknown>)
    : {};
  return { ...base, ...o.scheduler };
}

/**
 * The default version's suffix: 8 hex of SHA-256 over the training data hash, the predictor files
 * and the allocate prices. Not the data hash alone: a model re-exported or re-trained on the same
 * data (another --curve-envelope, say) is another bundle, and the edge keys cached budgets by
 * version, so it must not reuse the name.
 */
export async function bundleVersionDigest(
  dataHash: string,
  predictorFiles: Record<string, string>,
  allocation: unknown,
): Promise<string> {
  const h = createHash("sha256").update(dataHash);
  for (const m of METRIC_NAMES) h.update(await readFile(predictorFiles[m]));
  h.update(JSON.stringify(allocation ?? null));
  return h.digest("hex").slice(0, 8);
}

export interface BundleSummary {
  dir: string;
  version: string;
  edgeForm?: { method: string; agreement: EdgeFormAgreement };
}

export const bundleStage: PipelineStage<BundleSummary> = {
  name: "bundle",
  async run(run) {
    const o = run.o;
    const stepEncoding = await run.stepEncoding();
    await checkTrainedStepEncoding(run.dir, stepEncoding);
    const hash = trainingDataHash(run.db());
    const evaluation = JSON.parse(
      await readFile(join(reportDirOf(o), "evaluation.json"), "utf8"),
    ) as Record<string, unknown>;
    // The allocate mode's price, calibrated on validation prompts by the evaluate stage.
    const allocationMode = evaluation.allocation_mode as
      | { calibration?: unknown; price_table?: unknown; price_tables_by_metric?: unknown }
      | undefined;
    const allocation =
      allocationMode?.calibration === undefined
        ? undefined
        : bundleManifestSchema.shape.allocation.parse(allocationMode.calibration);
    const allocationPrices =
      allocationMode?.price_table === undefined
        ? undefined
        : bundleManifestSchema.shape.allocation_prices.parse(allocationMode.price_table);
    const allocationPricesByMetric =
      allocationMode?.price_tables_by_metric === undefined
        ? undefined
        : bundleManifestSchema.shape.allocation_prices_by_metric.parse(
            allocationMode.price_tables_by_metric,
          );
    // lo/hi of the per-metric target normalisation the bundled (full) models were trained with.
    const targetNorm = Object.fromEntries(
      await Promise.all(
        METRIC_NAMES.map(async (m) => [m, await readTargetNorm(run.dir, "full", m)] as const),
      ),
    );
    const predictorFiles = {
      lsnr: modelPath(run.dir, "full", "lsnr"),
      dsim: modelPath(run.dir, "full", "dsim"),
      iclip: modelPath(run.dir, "full", "iclip"),
    };
    const width = (await run.promptSet()).width;
    let edgeForm: BuiltEdgeForm | undefined;
    if (o["edge-form"] === "distilled") {
      run.log("distilling the edge form from the full models on the training prompts");
      edgeForm = await distilledEdgeFormOfRun({
        ort: run.ort,
        teacherFiles: await Promise.all(METRIC_NAMES.map((m) => readFile(predictorFiles[m]))),
        stepEncoding,
        trainRows: await run.promptRows("train"),
        width,
        plateau: DEFAULT_PLATEAU,
      });
      run.log(`edge form ${edgeForm.method}: ${JSON.stringify(edgeForm.agreement)}`);
    }
    const { dir, manifest } = await writeBundle({
      bundlesDir: o["bundles-dir"],
      version:
        o.version ??
        `${o.name}-${await bundleVersionDigest(hash, predictorFiles, { allocation, allocationPrices, allocationPricesByMetric })}`,
      predictorFiles,
      hidden: o.hidden,
      layers: 2,
      embeddingWidth: width,
      stepEncoding,
      clipDir: o.clip,
      diffusionModelId: (await run.generator()).modelId,
      schedulerConfig: await schedulerConfigOf(o),
      plateau: DEFAULT_PLATEAU,
      ...(allocation ? { allocation } : {}),
      ...(allocationPrices ? { allocationPrices } : {}),
      ...(allocationPricesByMetric ? { allocationPricesByMetric } : {}),
      trainingDataHash: hash,
      evaluation: {
        report: `reports/${o.name}/evaluation.json`,
        // Which L-SNR its numbers use (the report's; a converted bundle keeps its source's).
        lsnr_definition: evaluation.lsnr_definition,
        n_test: evaluation.n_test,
        relative_quality: evaluation.relative_quality,
        table1_mae_dense: evaluation.table1_mae_dense,
        t_star: (evaluation.t_star as { with_floor: unknown }).with_floor,
        time: evaluation.time,
        target_normalisation: targetNorm,
        // δ per metric the predictor files' graphs end with (model/curve-dead-zone.ts).
        ...(evaluation.curve_dead_zone
          ? { curve_dead_zone: (evaluation.curve_dead_zone as { delta: unknown }).delta }
          : {}),
      },
      stepGrid: o.stepGrid,
      generation: { guidanceScale: o.guidance, width: o.width, height: o.height },
      ...(edgeForm ? { edgeForm } : {}),
    });
    run.log(`bundle ${manifest.version} written to ${dir}`);
    return {
      dir,
      version: manifest.version,
      ...(edgeForm ? { edgeForm: { method: edgeForm.method, agreement: edgeForm.agreement } } : {}),
    };
  },
};
