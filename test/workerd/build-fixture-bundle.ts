/**
 * Builds the predictor bundles the workerd tests upload, from ../shared/fixtures (tests only),
 * and the reference curves they must reproduce, computed here in Node with onnxruntime-node:
 *
 *   fx-gpu24  embedding on the GPU worker (the fake worker's deterministic 24-dim embedding),
 *             predictors = lstm-ref/small.onnx (the SPEC §4 BiLSTM, D = 24) for every metric.
 *   fx-edge16 embedding at the edge with tiny-clip's text model (width 16) and predictors with
 *             D = 16 from training's exportPredictorOnnx, built only once that exporter exists
 *             (training/src/export/onnx-export.ts, written by the training engineer).
 *   fx-exact24, fx-distilled24  bundles with an edge form (edge-form-bundles.ts).
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LSNR_DEFINITION } from "@budgetfusion/shared/metrics/lsnr-definition";
import {
  BUNDLE_FORMAT,
  type BundleManifest,
  METRIC_NAMES,
  type MetricName,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import {
  defaultStepEncoding,
  predictorFeatures,
} from "@budgetfusion/shared/predictor/step-encoding";
import { ClipTokenizer } from "@budgetfusion/shared/tokenizer/clip-tokenizer";
import { FIXTURES } from "@budgetfusion/test-helpers/fixtures";
import * as ort from "onnxruntime-node";
import { fakeEmbedding } from "./fake-embedding";
import { FAKE_EMBED_MODEL, FAKE_EMBED_WIDTH } from "./fake-gpu-workers";
import { type FixtureBundle, PROBE_PROMPTS } from "./fixture-contract";

export type { FixtureBundle };

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const DENSE = 129;

function sha256(bytes: Uint8Array) {
  return createHash("sha256").update(bytes).digest("hex");
}

async function schedulerConfig() {
  return JSON.parse(
    await readFile(join(FIXTURES, "tiny-sd2/scheduler/scheduler_config.json"), "utf8"),
  );
}

async function writeBundle(
  root: string,
  manifest: BundleManifest,
  files: Record<string, Uint8Array>,
) {
  const dir = join(root, manifest.version);
  for (const [name, bytes] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), bytes);
  }
  await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2));
}

function l2(v: Float32Array) {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

async function curvesFor(
  manifest: BundleManifest,
  files: Record<string, Uint8Array>,
  embedding: Float32Array,
): Promise<Record<MetricName, number[]>> {
  const width = manifest.step_encoding.width;
  const features = predictorFeatures(embedding, 1, DENSE, manifest.step_encoding);
  const out = {} as Record<MetricName, number[]>;
  for (const m of METRIC_NAMES) {
    const session = await ort.InferenceSession.create(files[manifest.predictor.files[m].file]);
    const res = await session.run({
      features: new ort.Tensor("float32", features, [1, DENSE, width]),
    });
    out[m] = Array.from(res.scores.data as Float32Array);
    await session.release();
  }
  return out;
}

function baseManifest(
  version: string,
  width: number,
  sched: Record<string, unknown>,
): Omit<BundleManifest, "embedding" | "predictor"> {
  return {
    format: BUNDLE_FORMAT,
    version,
    created_at: "2026-11-26T00:00:00.000Z",
    metrics: [...METRIC_NAMES],
    step_grid: [1, 2, 3, 5, 9, 17, 22, 27, 33, 42, 65, 129],
    dense_steps: DENSE,
    reference_steps: 129,
    diffusion_model: {
      id: "tiny-sd2",
      scheduler_config: { ...sched, timestep_spacing: "trailing" },
      generation: { guidance_scale: 1.5, width: 64, height: 72 },
    },
    step_encoding: defaultStepEncoding(width),
    plateau: {
      weights: { lsnr: 0.3, dsim: 0.2, iclip: 0.5 },
      eps: { lsnr: 5e-4, dsim: 5e-4, iclip: 5e-4 },
    },
    metric_definitions: { lsnr: { definition: LSNR_DEFINITION } },
    training_data_hash: "0".repeat(64),
    evaluation: {},
  };
}

async function gpuBundle(root: string): Promise<FixtureBundle> {
  const onnx = new Uint8Array(await readFile(join(FIXTURES, "lstm-ref/small.onnx")));
  const files: Record<string, Uint8Array> = {};
  const refs = {} as BundleManifest["predictor"]["files"];
  for (const m of METRIC_NAMES) {
    const file = `predictor/${m}.onnx`;
    files[file] = onnx;
    refs[m] = { file, sha256: sha256(onnx), bytes: onnx.byteLength };
  }
  const manifest: BundleManifest = {
    ...baseManifest("fx-gpu24", FAKE_EMBED_WIDTH, await schedulerConfig()),
    embedding: { model_id: FAKE_EMBED_MODEL, width: FAKE_EMBED_WIDTH, runs_at: "gpu-worker" },
    predictor: {
      kind: "per-metric",
      files: refs,
      input: "features",
      output: "scores",
      hidden: 16,
      layers: 2,
      opset: 17,
    },
  };
  await writeBundle(root, manifest, files);
  const expected: FixtureBundle["expected"] = {};
  for (const p of PROBE_PROMPTS) {
    expected[p] = await curvesFor(manifest, files, l2(fakeEmbedding(p, FAKE_EMBED_WIDTH)));
  }
  return { version: manifest.version, files: Object.keys(files), manifest, expected };
}

const EXPORTER = join(REPO, "training/src/export/onnx-export.ts");

async function edgeBundle(root: string): Promise<FixtureBundle | undefined> {
  if (!existsSync(EXPORTER)) return undefined;
  const { buildEdgeFixtureBundle } = await import("./edge16-bundle");
  const built = await buildEdgeFixtureBundle(
    baseManifest("fx-edge16", 16, await schedulerConfig()),
  );
  await writeBundle(root, built.manifest, built.files);
  const tokenizer = ClipTokenizer.fromJson(
    JSON.parse(await readFile(join(FIXTURES, "tiny-clip/tokenizer.json"), "utf8")),
  );
  const text = await ort.InferenceSession.create(join(FIXTURES, "tiny-clip/onnx/text_model.onnx"));
  const expected: FixtureBundle["expected"] = {};
  for (const p of PROBE_PROMPTS) {
    const enc = tokenizer.encode([p], { padding: "max_length" });
    const dims = [1, enc.length];
    const res = await text.run({
      input_ids: new ort.Tensor("int64", BigInt64Array.from(enc.inputIds, BigInt), dims),
      attention_mask: new ort.Tensor("int64", BigInt64Array.from(enc.attentionMask, BigInt), dims),
    });
    expected[p] = await curvesFor(
      built.manifest,
      built.files,
      l2(res.text_embeds.data as Float32Array),
    );
  }
  return {
    version: built.manifest.version,
    files: Object.keys(built.files),
    manifest: built.manifest,
    expected,
  };
}

export async function buildFixtureBundles(root: string): Promise<FixtureBundle[]> {
  await mkdir(root, { recursive: true });
  const bundles = [await gpuBundle(root)];
  const edge = await edgeBundle(root);
  if (edge !== undefined) bundles.push(edge);
  const { buildEdgeFormBundles } = await import("./edge-form-bundles");
  const base = baseManifest("fx-edge-form", FAKE_EMBED_WIDTH, await schedulerConfig());
  for (const { bundle, files } of await buildEdgeFormBundles(base)) {
    await writeBundle(root, bundle.manifest, files);
    bundles.push(bundle);
  }
  return bundles;
}
