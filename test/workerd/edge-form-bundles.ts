/**
 * Fixture bundles with an edge form (bundle-manifest.ts `edge_form`), built in Node by
 * training's own code (Node only, global setup):
 *   fx-exact24      three D = 24 BiLSTM teachers (plateau-teacher.ts: random weights, fitted
 *                   readout, tail padding) served as their exact edge form; reference curves
 *                   are the TEACHER's, from onnxruntime-node over its per-metric files.
 *   fx-distilled24  the same teachers served as a distilled MLP student; reference curves are
 *                   the student's from onnxruntime-node, and the manifest records its agreement
 *                   with the teacher.
 * Both embed on the (fake) GPU worker, whose 24-dim embedding the references use too. Only the
 * edge files (form + probe) are upload parts: the teacher's files stay out of the edge.
 */

import { createHash } from "node:crypto";
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { DEFAULT_PLATEAU } from "@budgetfusion/shared/plateau/step-budget";
import {
  type BundleManifest,
  edgeFiles,
  METRIC_NAMES,
  type MetricName,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import { defaultStepEncoding } from "@budgetfusion/shared/predictor/step-encoding";
import {
  type BuiltEdgeForm,
  buildDistilledEdgeForm,
  buildExactEdgeForm,
  onnxTeacher,
  type PromptSet,
} from "@budgetfusion/training/distill/build-edge-form";
import { exportPredictorOnnx } from "@budgetfusion/training/export/onnx-export";
import { fakeEmbedding } from "./fake-embedding";
import { FAKE_EMBED_MODEL, FAKE_EMBED_WIDTH } from "./fake-gpu-workers";
import { type FixtureBundle, PROBE_PROMPTS } from "./fixture-contract";
import { plateauTeachers } from "./plateau-teacher";

const DENSE = 129;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const ref = (file: string, bytes: Uint8Array) => ({
  file,
  sha256: sha256(bytes),
  bytes: bytes.byteLength,
});

function l2(v: Float32Array): Float32Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function prompts(tag: string, n: number): PromptSet {
  const embeddings = new Float32Array(n * FAKE_EMBED_WIDTH);
  for (let i = 0; i < n; i++)
    embeddings.set(l2(fakeEmbedding(`${tag} prompt ${i}`, FAKE_EMBED_WIDTH)), i * FAKE_EMBED_WIDTH);
  return { embeddings, n };
}

function asCurves(scores: Float32Array): Record<MetricName, number[]> {
  const out = {} as Record<MetricName, number[]>;
  METRIC_NAMES.forEach((m, k) => {
    out[m] = Array.from({ length: DENSE }, (_, i) => scores[i * 3 + k]);
  });
  return out;
}

export async function buildEdgeFormBundles(
  base: Omit<BundleManifest, "embedding" | "predictor">,
): Promise<{ bundle: FixtureBundle; files: Record<string, Uint8Array> }[]> {
  const ort = createNodeOrt(1);
  const enc = defaultStepEncoding(FAKE_EMBED_WIDTH);
  const fit = prompts("readout fit", 128);
  // A teacher whose curves plateau (plateau-teacher.ts), with a weak prompt effect so that a
  // small student distilled in the global setup's seconds clears the bar.
  const teachers = plateauTeachers(
    { width: FAKE_EMBED_WIDTH, hidden: 16, mlp: 32 },
    enc,
    fit.embeddings,
    fit.n,
    DENSE,
    211,
    0.8,
    0.3,
  );
  const teacherFiles = teachers.map((t) => exportPredictorOnnx(t.params, t));
  const teacher = await onnxTeacher(ort, teacherFiles, enc, DENSE);
  const ctx = {
    ort,
    width: FAKE_EMBED_WIDTH,
    dense: DENSE,
    plateau: DEFAULT_PLATEAU,
    probePrompts: 16,
  };
  const val = prompts("validation", 64);
  const forms: [string, BuiltEdgeForm][] = [
    ["fx-exact24", await buildExactEdgeForm(ctx, teachers, enc, teacher.curves, val)],
    [
      "fx-distilled24",
      await buildDistilledEdgeForm(ctx, teacher.curves, prompts("training", 256), val, {
        hidden: 64,
        epochs: 60,
        batch: 32,
        lr: 3e-3,
        diffWeight: 20,
        stepStride: 3,
        seed: 3,
      }),
    ],
  ];
  const probeEmbeddings = PROBE_PROMPTS.map((p) => l2(fakeEmbedding(p, FAKE_EMBED_WIDTH)));
  const out: { bundle: FixtureBundle; files: Record<string, Uint8Array> }[] = [];
  for (const [version, form] of forms) {
    if (form.shortfall !== undefined) throw new Error(`${version}: ${form.shortfall}`);
    const probe = new Uint8Array(form.probe.buffer.slice(0));
    const files: Record<string, Uint8Array> = {
      "edge/form.onnx": form.onnx,
      "edge/probe.f32": probe,
    };
    const predictorFiles = {} as BundleManifest["predictor"]["files"];
    METRIC_NAMES.forEach((m, k) => {
      predictorFiles[m] = ref(`predictor/${m}.onnx`, teacherFiles[k]);
    });
    const manifest: BundleManifest = {
      ...base,
      version,
      step_encoding: enc,
      embedding: { model_id: FAKE_EMBED_MODEL, width: FAKE_EMBED_WIDTH, runs_at: "gpu-worker" },
      predictor: {
        kind: "per-metric",
        files: predictorFiles,
        input: "features",
        output: "scores",
        hidden: 16,
        layers: 2,
        opset: 14,
      },
      edge_form: {
        kind: form.kind,
        method: form.method,
        file: ref("edge/form.onnx", form.onnx),
        input: "embedding",
        output: "scores",
        agreement: form.agreement,
        probe: { ...ref("edge/probe.f32", probe), prompts: form.probePrompts },
      },
    };
    // Reference curves: the teacher's for the exact form (it must reproduce them), the
    // student's own for the distilled one (the edge must run it faithfully).
    const expected: FixtureBundle["expected"] = {};
    for (const [i, p] of PROBE_PROMPTS.entries()) {
      const x = probeEmbeddings[i];
      if (form.kind === "exact") {
        expected[p] = asCurves(await teacher.curves(x, 1));
      } else {
        const s = await ort.createSession(form.onnx);
        const res = await s.run({
          embedding: { type: "float32", data: x, dims: [1, FAKE_EMBED_WIDTH] },
        });
        expected[p] = asCurves(res.scores.data as Float32Array);
        await s.release();
      }
    }
    out.push({
      bundle: { version, files: edgeFiles(manifest).map((f) => f.file), manifest, expected },
      files,
    });
  }
  await teacher.release();
  return out;
}
