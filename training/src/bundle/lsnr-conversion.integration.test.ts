/**
 * The L-SNR conversion (lsnr-conversion.ts) on onnxruntime-node: the converted head's scores are
 * exactly float32(1 - y) of the original's, other heads and channels are untouched bit for bit,
 * t* is unchanged, and the committed converted bundle is what converting the committed
 * first-SPEC bundle gives, byte for byte.
 */
import { join, resolve } from "node:path";
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { stepBudget } from "@budgetfusion/shared/plateau/step-budget";
import {
  type BundleManifest,
  lsnrDefinitionOf,
  METRIC_NAMES,
  type MetricName,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import { predictorFeatures } from "@budgetfusion/shared/predictor/step-encoding";
import { splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { afterAll, describe, expect, it } from "vitest";
import { exportPredictorOnnx } from "../export/onnx-export";
import { parseModelConfig } from "../model/config";
import { initParams, paramSpecs, viewParams } from "../model/params";
import { readVerifiedBundle, type VerifiedBundle } from "./bundle-files";
import { convertLsnrBundle, invertModelOutput } from "./lsnr-conversion";

const BUNDLES = resolve(import.meta.dirname, "../../../artifacts/bundles");
const SOURCE = "mini-world-30107bce";
const CONVERTED = `${SOURCE}-signal-share`;

const ort = createNodeOrt(1);
const released: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const r of released) await r();
});

async function run(model: Uint8Array, features: Float32Array, dims: number[]) {
  const s = await ort.createSession(model);
  released.push(() => s.release());
  const out = await s.run({ features: { type: "float32", data: features, dims } });
  return out.scores.data as Float32Array;
}

/** Dense curves of `n` random unit prompt embeddings, per metric, [n * dense] each. */
async function curves(
  bundle: VerifiedBundle,
  n: number,
): Promise<Record<MetricName, Float32Array>> {
  const m = bundle.manifest;
  const width = m.embedding.width;
  const r = splitMix32Random(11);
  const emb = Float32Array.from({ length: n * width }, () => r.uniform(-1, 1));
  for (let b = 0; b < n; b++) {
    const row = emb.subarray(b * width, (b + 1) * width);
    const norm = Math.hypot(...row);
    for (let i = 0; i < width; i++) row[i] /= norm;
  }
  const features = predictorFeatures(emb, n, m.dense_steps, m.step_encoding);
  const out = {} as Record<MetricName, Float32Array>;
  for (const metric of METRIC_NAMES) {
    const file = bundle.files.find((f) => f.ref.file === m.predictor.files[metric].file);
    out[metric] = await run(file?.bytes ?? new Uint8Array(), features, [n, m.dense_steps, width]);
  }
  return out;
}

describe("bundle:convert-lsnr on the committed first-SPEC bundle", () => {
  it("reproduces the committed converted bundle byte for byte", async () => {
    const source = await readVerifiedBundle(join(BUNDLES, SOURCE));
    expect(lsnrDefinitionOf(source.manifest)).toBe("noise_share");
    const converted = convertLsnrBundle(source, CONVERTED);
    const committed = await readVerifiedBundle(join(BUNDLES, CONVERTED));
    expect(converted.manifestText).toBe(committed.manifestText);
    expect(converted.files.map((f) => f.ref)).toEqual(committed.files.map((f) => f.ref));
    expect(committed.manifest.metric_definitions).toEqual({
      lsnr: { definition: "signal_share", converted_from: "noise_share" },
    });
    // Its evaluation numbers were measured under the old definition, and it says so.
    expect(committed.manifest.evaluation).toMatchObject({
      lsnr_definition: "noise_share",
      converted_from: SOURCE,
    });
  });

  it("serves exactly float32(1 - y) for L-SNR, the other heads unchanged, the same t*", async () => {
    const source = await readVerifiedBundle(join(BUNDLES, SOURCE));
    const converted = await readVerifiedBundle(join(BUNDLES, CONVERTED));
    const n = 16;
    const before = await curves(source, n);
    const after = await curves(converted, n);
    let exact = 0;
    for (let i = 0; i < before.lsnr.length; i++)
      if (after.lsnr[i] === Math.fround(1 - before.lsnr[i])) exact++;
    expect(exact).toBe(before.lsnr.length);
    // Not a vacuous map: the head's output really varies over the curve.
    expect(Math.max(...before.lsnr) - Math.min(...before.lsnr)).toBeGreaterThan(0.05);
    expect(after.dsim).toEqual(before.dsim);
    expect(after.iclip).toEqual(before.iclip);
    const dense = source.manifest.dense_steps;
    const options = {
      weights: source.manifest.plateau.weights,
      eps: source.manifest.plateau.eps,
    };
    for (let b = 0; b < n; b++) {
      const at = (c: Record<MetricName, Float32Array>) =>
        Object.fromEntries(
          METRIC_NAMES.map((m) => [m, Array.from(c[m].subarray(b * dense, (b + 1) * dense))]),
        ) as Record<MetricName, number[]>;
      expect(stepBudget(at(after), options)).toEqual(stepBudget(at(before), options));
    }
  });

  it("refuses a bundle that already serves S/(S+N), naming the field", async () => {
    const converted = await readVerifiedBundle(join(BUNDLES, CONVERTED));
    expect(() => convertLsnrBundle(converted, "again")).toThrow(
      expect.objectContaining({ field: "metric_definitions.lsnr.definition" }),
    );
  });
});

describe("a multi-head file (one [batch, steps, 3] output)", () => {
  const cfg = parseModelConfig({ architecture: "bilstm-3head", width: 8, hidden: 6, mlp: 5 });
  const specs = paramSpecs(cfg);
  const { flat, map: params } = viewParams(specs);
  initParams(specs, flat, 3);
  const model = exportPredictorOnnx(params, { architecture: "bilstm-3head" });
  const r = splitMix32Random(4);
  const x = Float32Array.from({ length: 2 * 9 * 8 }, () => r.uniform(-1, 1));

  it("maps the L-SNR channel only", async () => {
    const before = await run(model, x, [2, 9, 8]);
    const after = await run(
      invertModelOutput(model, "scores", { index: 0, channels: 3 }),
      x,
      [2, 9, 8],
    );
    for (let i = 0; i < before.length; i++)
      expect(after[i]).toBe(i % 3 === 0 ? Math.fround(1 - before[i]) : before[i]);
  });

  it("rewrites every metric's reference to the shared file", async () => {
    const source = await readVerifiedBundle(join(BUNDLES, SOURCE));
    const ref = { file: "predictor/heads.onnx", sha256: "0".repeat(64), bytes: model.byteLength };
    const manifest: BundleManifest = {
      ...source.manifest,
      predictor: {
        ...source.manifest.predictor,
        kind: "multi-head",
        files: { lsnr: ref, dsim: ref, iclip: ref },
      },
    };
    const multi: VerifiedBundle = {
      manifest,
      manifestText: JSON.stringify(manifest),
      files: [{ ref, bytes: Uint8Array.from(model) }],
    };
    const out = convertLsnrBundle(multi, "multi-converted");
    const files = out.manifest.predictor.files;
    expect(files.dsim).toEqual(files.lsnr);
    expect(files.iclip).toEqual(files.lsnr);
    expect(files.lsnr.sha256).not.toBe(ref.sha256);
    expect(out.files).toHaveLength(1);
  });
});
