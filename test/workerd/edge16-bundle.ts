/**
 * The edge-embedding fixture bundle: tiny-clip's text model and tokenizer (width 16) plus three
 * D = 16 BiLSTM predictors with seeded random weights, exported by training's
 * exportPredictorOnnx (the same exporter real bundles use) with tail padding and the target
 * de-normalisation, so onnxruntime-web in workerd runs every operator a trained bundle holds
 * (Gather, Tile, Concat, Slice, Mul, Add, Clip around the LSTMs). Node only (global setup).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type BundleManifest, METRIC_NAMES } from "@budgetfusion/shared/predictor/bundle-manifest";
import { defaultStepEncoding } from "@budgetfusion/shared/predictor/step-encoding";
import { FIXTURES } from "@budgetfusion/test-helpers/fixtures";
import { exportPredictorOnnx } from "@budgetfusion/training/export/onnx-export";
import { parseModelConfig } from "@budgetfusion/training/model/config";
import { initParams, paramSpecs, viewParams } from "@budgetfusion/training/model/params";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const ref = (file: string, bytes: Uint8Array) => ({
  file,
  sha256: sha256(bytes),
  bytes: bytes.byteLength,
});

export async function buildEdgeFixtureBundle(
  base: Omit<BundleManifest, "embedding" | "predictor">,
) {
  const cfg = parseModelConfig({ architecture: "bilstm", width: 16, hidden: 8, mlp: 8, layers: 2 });
  const files: Record<string, Uint8Array> = {};
  const refs = {} as BundleManifest["predictor"]["files"];
  METRIC_NAMES.forEach((m, i) => {
    const specs = paramSpecs(cfg);
    const { flat, map } = viewParams(specs);
    initParams(specs, flat, 101 + i);
    const bytes = exportPredictorOnnx(
      map,
      { architecture: "bilstm", tailPad: 4 },
      { outputAffine: { scale: 0.8, offset: 0.05 } },
    );
    files[`predictor/${m}.onnx`] = bytes;
    refs[m] = ref(`predictor/${m}.onnx`, bytes);
  });
  const textModel = new Uint8Array(
    await readFile(join(FIXTURES, "tiny-clip/onnx/text_model.onnx")),
  );
  const tokenizer = new Uint8Array(await readFile(join(FIXTURES, "tiny-clip/tokenizer.json")));
  files["text/text_model.onnx"] = textModel;
  files["text/tokenizer.json"] = tokenizer;
  const manifest: BundleManifest = {
    ...base,
    // A log-step encoding, so the parity test also shows the edge follows the manifest's position.
    step_encoding: defaultStepEncoding(16, "log_step"),
    embedding: {
      model_id: "tiny-clip",
      width: 16,
      runs_at: "edge",
      text_model: ref("text/text_model.onnx", textModel),
      tokenizer: ref("text/tokenizer.json", tokenizer),
    },
    predictor: {
      kind: "per-metric",
      files: refs,
      input: "features",
      output: "scores",
      hidden: 8,
      layers: 2,
      opset: 14,
    },
  };
  return { manifest, files };
}
