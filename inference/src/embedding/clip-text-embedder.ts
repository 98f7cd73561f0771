/**
 * Opens a CLIP text model folder in the transformers.js layout (`onnx/text_model.onnx`,
 * `tokenizer.json`) as the shared ClipTextEmbedder (@budgetfusion/shared/embedding): the GPU
 * worker's POST /v1/embed (SPEC §4, bundles with `embedding.runs_at = "gpu-worker"`) and training's
 * prompt sampling and predictor input p̄. The model is opened by path, so external-data weights
 * next to it are found.
 */
import { access, readFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import {
  ClipTextEmbedder,
  TEXT_MODEL_FILE,
} from "@budgetfusion/shared/embedding/clip-text-embedder";
import { ModelLoadError } from "@budgetfusion/shared/errors";
import { loadClipTokenizer } from "@budgetfusion/shared/tokenizer/clip-tokenizer";
import type { FileOrtPort } from "../runtime/ort-node";

export interface LoadTextEmbedderOptions {
  /** Reported with embeddings; default: the folder name. */
  modelId?: string;
  /** Texts per session run (default 256). */
  batchSize?: number;
  executionProviders?: readonly string[];
}

/** Loads `<dir>/onnx/text_model.onnx` and `<dir>/tokenizer.json`; ModelLoadError naming `clip`. */
export async function loadClipTextEmbedder(
  port: FileOrtPort,
  dir: string,
  options: LoadTextEmbedderOptions = {},
): Promise<ClipTextEmbedder> {
  const modelPath = join(dir, TEXT_MODEL_FILE);
  try {
    await access(modelPath);
  } catch (cause) {
    throw new ModelLoadError(`cannot read ${modelPath}`, { field: "clip", cause });
  }
  const tokenizer = await loadClipTokenizer((rel) => readFile(join(dir, rel), "utf8"));
  const session = await port.createSessionFromFile(modelPath, {
    executionProviders: options.executionProviders,
  });
  return ClipTextEmbedder.fromSession(session, tokenizer, {
    modelId: options.modelId ?? basename(resolve(dir)),
    batchSize: options.batchSize,
  });
}
