/**
 * Turns a verified bundle manifest plus a file reader into ready ONNX sessions (SPEC §4): the
 * bundle's edge form when it has one, else one predictor session per metric (deduplicated for
 * multi-head bundles) and, when the embedding
 * runs at the edge, the CLIP text model with its tokenizer. Used by serving (files from R2) and
 * by upload verification (files from the request), so both load exactly the same way.
 */
import {
  ClipTextEmbedder,
  type TextEmbedder,
} from "@budgetfusion/shared/embedding/clip-text-embedder";
import { ModelLoadError } from "@budgetfusion/shared/errors";
import {
  type BundleManifest,
  type FileRef,
  METRIC_NAMES,
  type MetricName,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import type { OrtPort, PortSession } from "@budgetfusion/shared/runtime/ort-port";
import { ClipTokenizer } from "@budgetfusion/shared/tokenizer/clip-tokenizer";

export type ReadBytes = (file: string) => Promise<Uint8Array>;

/** Which network answers: the teacher's own files, or the bundle's exact or distilled form. */
type PredictorForm = "teacher" | "exact" | "distilled";

export interface LoadedPredictor {
  manifest: BundleManifest;
  form: PredictorForm;
  /** form "teacher": one session per metric (the same one for a multi-head file). */
  sessions?: Record<MetricName, PortSession>;
  /** Otherwise: the edge form, embedding [1, width] -> scores [1, dense, 3]. */
  edgeSession?: PortSession;
  /** The bundle's CLIP text model when its embedding runs at the edge. */
  textEmbedder?: TextEmbedder;
  release(): Promise<void>;
}

async function session(port: OrtPort, read: ReadBytes, ref: FileRef, field: string) {
  const bytes = await read(ref.file);
  try {
    return await port.createSession(bytes);
  } catch (cause) {
    throw new ModelLoadError(`${ref.file} is not a loadable ONNX model: ${String(cause)}`, {
      field,
      cause,
    });
  }
}

async function loadTextEmbedder(
  manifest: BundleManifest,
  port: OrtPort,
  read: ReadBytes,
): Promise<TextEmbedder | undefined> {
  const { embedding } = manifest;
  if (embedding.runs_at !== "edge") return undefined;
  if (embedding.text_model === undefined || embedding.tokenizer === undefined) {
    throw new ModelLoadError("embedding.runs_at is 'edge' but text_model or tokenizer is missing", {
      field: embedding.text_model === undefined ? "embedding.text_model" : "embedding.tokenizer",
    });
  }
  const tokenizerText = new TextDecoder().decode(await read(embedding.tokenizer.file));
  let tokenizerJson: unknown;
  try {
    tokenizerJson = JSON.parse(tokenizerText);
  } catch (cause) {
    throw new ModelLoadError(`${embedding.tokenizer.file} is not JSON`, {
      field: "embedding.tokenizer",
      cause,
    });
  }
  const tokenizer = ClipTokenizer.fromJson(tokenizerJson);
  const textSession = await session(port, read, embedding.text_model, "embedding.text_model");
  return ClipTextEmbedder.fromSession(textSession, tokenizer, {
    modelId: embedding.model_id,
    width: embedding.width,
  });
}

async function teacherSessions(manifest: BundleManifest, port: OrtPort, read: ReadBytes) {
  const byFile = new Map<string, Promise<PortSession>>();
  for (const metric of METRIC_NAMES) {
    const ref = manifest.predictor.files[metric];
    if (!byFile.has(ref.file)) {
      byFile.set(ref.file, session(port, read, ref, `predictor.files.${metric}`));
    }
  }
  const sessions = {} as Record<MetricName, PortSession>;
  for (const metric of METRIC_NAMES) {
    sessions[metric] = await (byFile.get(
      manifest.predictor.files[metric].file,
    ) as Promise<PortSession>);
  }
  return sessions;
}

export async function loadPredictor(
  manifest: BundleManifest,
  port: OrtPort,
  read: ReadBytes,
): Promise<LoadedPredictor> {
  const form = manifest.edge_form;
  const edgeSession =
    form === undefined ? undefined : await session(port, read, form.file, "edge_form.file");
  const sessions =
    edgeSession === undefined ? await teacherSessions(manifest, port, read) : undefined;
  const textEmbedder = await loadTextEmbedder(manifest, port, read);
  const all = new Set<PortSession>([
    ...Object.values(sessions ?? {}),
    ...(edgeSession ? [edgeSession] : []),
  ]);
  return {
    manifest,
    form: form?.kind ?? "teacher",
    sessions,
    edgeSession,
    textEmbedder,
    release: async () => {
      await Promise.all([...[...all].map((s) => s.release()), textEmbedder?.release()]);
    },
  };
}
