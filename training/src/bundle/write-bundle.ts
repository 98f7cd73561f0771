/**
 * Writes a predictor bundle (STYLE "Configuration"; shared/src/predictor/bundle-manifest.ts):
 * artifacts/bundles/<version>/manifest.json plus the files it lists, each with sha256 and size.
 * The CLIP text model and tokenizer ship in the bundle and run at the edge when the text model is
 * small enough (< 20 MB, what a Worker can hold comfortably); otherwise the bundle names the
 * model and the GPU worker embeds (POST /v1/embed).
 */
import { copyFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { TEXT_MODEL_FILE } from "@budgetfusion/shared/embedding/clip-text-embedder";
import { ValidationError } from "@budgetfusion/shared/errors";
import { DENSE_REFERENCE_STEPS, DENSE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import { LSNR_DEFINITION } from "@budgetfusion/shared/metrics/lsnr-definition";
import type {
  AllocationCalibration,
  AllocationPriceTable,
} from "@budgetfusion/shared/plateau/allocate";
import type { PlateauParams } from "@budgetfusion/shared/plateau/step-budget";
import {
  BUNDLE_FORMAT,
  type BundleManifest,
  bundleManifestSchema,
  type EdgeForm,
  type FileRef,
  METRIC_NAMES,
  type MetricName,
  type StepEncoding,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import { defaultStepEncoding } from "@budgetfusion/shared/predictor/step-encoding";
import { sha256Hex } from "../dataset/image-files";
import type { BuiltEdgeForm } from "../distill/build-edge-form";
import { EDGE_FORM_INPUT } from "../export/edge-form-export";
import { ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT } from "../export/onnx-export";

const EDGE_TEXT_MODEL_MAX_BYTES = 20 * 1024 * 1024;

export interface BundleInput {
  bundlesDir: string;
  version: string;
  /** Per-metric predictor ONNX files (the full model). */
  predictorFiles: Record<MetricName, string>;
  hidden: number;
  layers: number;
  embeddingWidth: number;
  /** The predictors' step encoding (default: defaultStepEncoding(embeddingWidth)). */
  stepEncoding?: StepEncoding;
  clipDir: string;
  diffusionModelId: string;
  /** The scheduler config the dataset was generated with (model config + overrides). */
  schedulerConfig: Record<string, unknown>;
  plateau: PlateauParams;
  /** The allocate mode's calibration (manifest `allocation`); absent = plateau rule only. */
  allocation?: AllocationCalibration;
  /** Its price for every integer mean-steps target (manifest `allocation_prices`). */
  allocationPrices?: AllocationPriceTable;
  /** The same for each metric priced alone (manifest `allocation_prices_by_metric`). */
  allocationPricesByMetric?: Record<MetricName, AllocationPriceTable>;
  trainingDataHash: string;
  evaluation: Record<string, unknown>;
  stepGrid: readonly number[];
  /** The dataset's generation settings (manifest diffusion_model.generation). */
  generation?: { guidanceScale: number; width: number; height: number };
  /** A faster form for the edge to serve (distill/build-edge-form.ts); it must pass its bar. */
  edgeForm?: BuiltEdgeForm;
}

async function placeBytes(dir: string, rel: string, bytes: Uint8Array): Promise<FileRef> {
  const target = join(dir, rel);
  await mkdir(join(target, ".."), { recursive: true });
  await writeFile(target, bytes);
  return { file: rel, sha256: sha256Hex(bytes), bytes: bytes.byteLength };
}

async function edgeFormEntry(dir: string, form: BuiltEdgeForm): Promise<EdgeForm> {
  if (form.shortfall !== undefined) {
    throw new ValidationError(`edge form (${form.method}): ${form.shortfall}`, {
      field: "edge_form.agreement",
    });
  }
  const probeBytes = new Uint8Array(
    form.probe.buffer,
    form.probe.byteOffset,
    form.probe.byteLength,
  );
  return {
    kind: form.kind,
    method: form.method,
    file: await placeBytes(dir, "edge/form.onnx", form.onnx),
    input: EDGE_FORM_INPUT,
    output: ONNX_OUTPUT,
    agreement: form.agreement,
    probe: { ...(await placeBytes(dir, "edge/probe.f32", probeBytes)), prompts: form.probePrompts },
  };
}

async function place(dir: string, rel: string, src: string): Promise<FileRef> {
  const target = join(dir, rel);
  await mkdir(join(target, ".."), { recursive: true });
  await copyFile(src, target);
  const bytes = new Uint8Array(await readFile(target));
  return { file: rel, sha256: sha256Hex(bytes), bytes: bytes.byteLength };
}

/** Writes the bundle; returns its directory and the validated manifest. */
export async function writeBundle(
  input: BundleInput,
): Promise<{ dir: string; manifest: BundleManifest }> {
  const dir = resolve(input.bundlesDir, input.version);
  await mkdir(dir, { recursive: true });
  const files = {} as Record<MetricName, FileRef>;
  for (const m of METRIC_NAMES)
    files[m] = await place(dir, `predictor/${m}.onnx`, input.predictorFiles[m]);
  const textModel = join(input.clipDir, TEXT_MODEL_FILE);
  const textBytes = (await readFile(textModel)).byteLength;
  const atEdge = textBytes < EDGE_TEXT_MODEL_MAX_BYTES;
  const embedding: BundleManifest["embedding"] = {
    model_id: basename(resolve(input.clipDir)),
    width: input.embeddingWidth,
    runs_at: atEdge ? "edge" : "gpu-worker",
    ...(atEdge
      ? {
          text_model: await place(dir, "embedding/text_model.onnx", textModel),
          tokenizer: await place(
            dir,
            "embedding/tokenizer.json",
            join(input.clipDir, "tokenizer.json"),
          ),
        }
      : {}),
  };
  const raw = {
    format: BUNDLE_FORMAT,
    version: input.version,
    created_at: new Date().toISOString(),
    metrics: [...METRIC_NAMES],
    step_grid: [...input.stepGrid],
    dense_steps: DENSE_STEPS,
    reference_steps: DENSE_REFERENCE_STEPS,
    diffusion_model: {
      id: input.diffusionModelId,
      scheduler_config: input.schedulerConfig,
      ...(input.generation
        ? {
            generation: {
              guidance_scale: input.generation.guidanceScale,
              width: input.generation.width,
              height: input.generation.height,
            },
          }
        : {}),
    },
    embedding,
    step_encoding: input.stepEncoding ?? defaultStepEncoding(input.embeddingWidth),
    predictor: {
      kind: "per-metric",
      files,
      input: ONNX_INPUT,
      output: ONNX_OUTPUT,
      hidden: input.hidden,
      layers: input.layers,
      opset: ONNX_OPSET,
    },
    plateau: { weights: input.plateau.weights, eps: input.plateau.eps },
    // The metrics stage measured the targets with today's L-SNR and refuses datasets of the other
    // (metrics/dataset-metrics.ts), so the heads it trained output this one.
    metric_definitions: { lsnr: { definition: LSNR_DEFINITION } },
    ...(input.edgeForm ? { edge_form: await edgeFormEntry(dir, input.edgeForm) } : {}),
    ...(input.allocation ? { allocation: input.allocation } : {}),
    ...(input.allocationPrices ? { allocation_prices: input.allocationPrices } : {}),
    ...(input.allocationPricesByMetric
      ? { allocation_prices_by_metric: input.allocationPricesByMetric }
      : {}),
    training_data_hash: input.trainingDataHash,
    evaluation: input.evaluation,
  };
  const parsed = bundleManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(`bundle manifest: ${issue.path.join(".")}: ${issue.message}`, {
      field: issue.path.join("."),
    });
  }
  const path = join(dir, "manifest.json");
  await writeFile(`${path}.tmp`, `${JSON.stringify(parsed.data, null, 1)}\n`);
  await rename(`${path}.tmp`, path);
  return { dir, manifest: parsed.data };
}
