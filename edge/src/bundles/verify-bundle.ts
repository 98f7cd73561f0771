/**
 * Verification of an uploaded predictor bundle before it is stored (SPEC §7 admin): the manifest
 * parses against bundleManifestSchema (strict: unknown keys are refused by name), its
 * scheduler_config against the shared scheduler schema with the bounds the GPU workers apply,
 * every referenced file is present with the sha256 (and size) the manifest states, no
 * unreferenced file rides along, embedding.width matches the predictor's ONNX input and the
 * edge text model's output, and every ONNX file loads and runs on a probe prompt producing
 * finite dense curves and a step budget. A bundle with an edge
 * form is refused when the agreement it records, or the agreement the edge measures itself on
 * the bundle's probe prompts, misses the bar named in edge-form-agreement.ts.
 */
import {
  BudgetFusionError,
  ConfigError,
  type ErrorOptions,
  ShapeError,
} from "@budgetfusion/shared/errors";
import { stepBudget } from "@budgetfusion/shared/plateau/step-budget";
import {
  type BundleManifest,
  bundleManifestSchema,
  edgeFiles,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import {
  agreementShortfall,
  measureAgreement,
} from "@budgetfusion/shared/predictor/edge-form-agreement";
import { parseSchedulerConfig } from "@budgetfusion/shared/schedulers/scheduler-config";
import { validationError } from "@budgetfusion/shared/schemas/zod-issues";
import { type LoadedPredictor, loadPredictor } from "../predictor/load-predictor";
import { predictCurves } from "../predictor/predict-curves";
import { ortWeb } from "../runtime/ort-web";
import { sha256Hex } from "../runtime/sha256";

const PROBE_PROMPT = "a photograph of an astronaut riding a horse";

export class InvalidBundleError extends BudgetFusionError {
  constructor(message: string, options: ErrorOptions = {}) {
    super("invalid_bundle", message, options);
    this.name = "InvalidBundleError";
  }
}

export function parseManifest(text: string): BundleManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InvalidBundleError("manifest is not valid JSON", { field: "manifest" });
  }
  const parsed = bundleManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const v = validationError(parsed.error.issues, "manifest");
    throw new InvalidBundleError(`manifest invalid at ${v.message}`, {
      field: v.field,
      details: v.details,
    });
  }
  checkSchedulerConfig(parsed.data.diffusion_model.scheduler_config);
  const { embedding, step_encoding } = parsed.data;
  if (embedding.width !== step_encoding.width) {
    throw new InvalidBundleError(
      `embedding.width ${embedding.width} differs from step_encoding.width ${step_encoding.width} (features add them)`,
      { field: "embedding.width" },
    );
  }
  return parsed.data;
}

/**
 * The bundle's scheduler_config is what every worker will generate with: it must pass the same
 * schema and bounds a worker applies to overrides, and carry no key no scheduler knows.
 */
function checkSchedulerConfig(config: Record<string, unknown>) {
  const field = (key: string) => `diffusion_model.scheduler_config.${key}`;
  let parsed: ReturnType<typeof parseSchedulerConfig>;
  try {
    parsed = parseSchedulerConfig(config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new InvalidBundleError(`manifest invalid at ${field(err.field ?? "")}: ${err.message}`, {
      field: field(err.field ?? ""),
    });
  }
  const unknown = parsed.unknownKeys[0];
  if (unknown !== undefined) {
    throw new InvalidBundleError(`manifest invalid at ${field(unknown)}: unknown scheduler key`, {
      field: field(unknown),
    });
  }
}

/** embedding.width against the predictor's ONNX input and the probe embedding's length. */
function checkEmbeddingWidth(predictor: LoadedPredictor, embedding: Float32Array) {
  const { width } = predictor.manifest.embedding;
  if (embedding.length !== width) {
    throw new InvalidBundleError(
      `embedding.width is ${width}, the text model produces ${embedding.length}`,
      { field: "embedding.width" },
    );
  }
  const input = predictor.manifest.predictor.input;
  for (const [metric, session] of Object.entries(predictor.sessions ?? {})) {
    const last = session.inputs.find((i) => i.name === input)?.shape?.at(-1);
    if (typeof last === "number" && last !== width) {
      throw new InvalidBundleError(
        `embedding.width is ${width}, predictor.files.${metric} takes ${input} of width ${last}`,
        { field: "embedding.width" },
      );
    }
  }
}

/**
 * Checks presence, size and sha256 of every file the edge serves (edgeFiles: with an edge form,
 * not the teacher's predictor files); rejects extra files.
 */
export async function verifyFiles(manifest: BundleManifest, files: Map<string, Uint8Array>) {
  const refs = edgeFiles(manifest);
  const referenced = new Set(refs.map((r) => r.file));
  for (const name of files.keys()) {
    if (!referenced.has(name)) {
      throw new InvalidBundleError(`file ${name} is not referenced by the manifest`, {
        field: name,
      });
    }
  }
  for (const ref of refs) {
    const bytes = files.get(ref.file);
    if (bytes === undefined) {
      throw new InvalidBundleError(`file ${ref.file} is missing from the upload`, {
        field: ref.file,
      });
    }
    if (ref.bytes !== undefined && ref.bytes !== bytes.byteLength) {
      throw new InvalidBundleError(
        `${ref.file} has ${bytes.byteLength} bytes, manifest says ${ref.bytes}`,
        {
          field: ref.file,
        },
      );
    }
    const actual = await sha256Hex(bytes);
    if (actual !== ref.sha256) {
      throw new InvalidBundleError(
        `${ref.file} sha256 ${actual} does not match the manifest's ${ref.sha256}`,
        {
          field: ref.file,
        },
      );
    }
  }
}

/**
 * The edge form on the probe prompts, scored against the teacher curves stored beside them: the
 * recorded agreement must clear the bar, and so must what this runtime reproduces.
 */
async function checkEdgeForm(
  manifest: BundleManifest,
  predictor: LoadedPredictor,
  files: Map<string, Uint8Array>,
) {
  const form = manifest.edge_form;
  if (form === undefined) return;
  const recorded = agreementShortfall(form.kind, form.agreement);
  if (recorded !== undefined) {
    throw new InvalidBundleError(`edge form refused: recorded ${recorded}`, {
      field: "edge_form.agreement",
    });
  }
  const width = manifest.embedding.width;
  const dense = manifest.dense_steps;
  const row = width + dense * 3;
  const bytes = files.get(form.probe.file) ?? new Uint8Array();
  if (bytes.byteLength !== form.probe.prompts * row * 4) {
    throw new InvalidBundleError(
      `${form.probe.file} has ${bytes.byteLength} bytes, ${form.probe.prompts} rows of ${row} float32 expected`,
      { field: "edge_form.probe" },
    );
  }
  const rows = new Float32Array(bytes.slice().buffer);
  const teacher = new Float32Array(form.probe.prompts * dense * 3);
  const served = new Float32Array(teacher.length);
  for (let i = 0; i < form.probe.prompts; i++) {
    const curves = await predictCurves(predictor, rows.slice(i * row, i * row + width));
    teacher.set(rows.subarray(i * row + width, (i + 1) * row), i * dense * 3);
    for (let t = 0; t < dense; t++)
      manifest.metrics.forEach((m, k) => {
        served[(i * dense + t) * 3 + k] = curves[m][t];
      });
  }
  const measured = measureAgreement(teacher, served, form.probe.prompts, dense, manifest.plateau);
  const shortfall = agreementShortfall(form.kind, measured);
  if (shortfall !== undefined) {
    throw new InvalidBundleError(`edge form refused: on the probe prompts ${shortfall}`, {
      field: "edge_form.probe",
    });
  }
}

/** Loads every ONNX file and runs the whole prediction on a probe prompt. */
export async function probeBundle(manifest: BundleManifest, files: Map<string, Uint8Array>) {
  const read = async (file: string) => files.get(file) ?? new Uint8Array();
  let predictor: LoadedPredictor;
  try {
    predictor = await loadPredictor(manifest, ortWeb, read);
  } catch (cause) {
    const err = cause as BudgetFusionError;
    throw new InvalidBundleError(`bundle does not load: ${err.message}`, {
      field: err.field,
      cause,
    });
  }
  try {
    await checkEdgeForm(manifest, predictor, files);
  } catch (cause) {
    await predictor.release();
    throw cause;
  }
  try {
    // A GPU-worker embedding cannot be probed here (no worker needed to upload): use a unit
    // vector of the right width, which exercises the predictors all the same.
    const embedding =
      predictor.textEmbedder === undefined
        ? Float32Array.from({ length: manifest.embedding.width }, (_, i) => (i === 0 ? 1 : 0))
        : await predictor.textEmbedder.embed([PROBE_PROMPT]).catch((cause: unknown) => {
            // The embedder checks its output against embedding.width: a mismatch is that key's.
            if (!(cause instanceof ShapeError)) throw cause;
            throw new InvalidBundleError(
              `embedding.width ${manifest.embedding.width} does not match the text model: ${cause.message}`,
              { field: "embedding.width", cause },
            );
          });
    checkEmbeddingWidth(predictor, embedding);
    const curves = await predictCurves(predictor, embedding);
    const budget = stepBudget(curves, {
      weights: manifest.plateau.weights,
      eps: manifest.plateau.eps,
    });
    return { steps: budget.steps, perMetric: budget.perMetric };
  } catch (cause) {
    if (cause instanceof InvalidBundleError) throw cause;
    const err = cause as BudgetFusionError;
    throw new InvalidBundleError(`probe prompt failed: ${err.message}`, {
      field: err.field,
      cause,
    });
  } finally {
    await predictor.release();
  }
}
