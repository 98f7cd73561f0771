import { describe, expect, it } from "vitest";
import { bundleManifestSchema, lsnrDefinitionOf } from "./bundle-manifest";

const ref = (file: string) => ({ file, sha256: "0".repeat(64) });
/** The smallest manifest the schema accepts, without metric_definitions (as before SPEC §3's revision). */
const base = {
  format: "budgetfusion.predictor-bundle/v1",
  version: "v1",
  created_at: "2026-01-01T00:00:00.000Z",
  metrics: ["lsnr", "dsim", "iclip"],
  step_grid: [1, 129],
  dense_steps: 129,
  reference_steps: 129,
  diffusion_model: { id: "m", scheduler_config: {} },
  embedding: { model_id: "clip", width: 4, runs_at: "gpu-worker" },
  step_encoding: { type: "sinusoidal", scale: 1, width: 4 },
  predictor: {
    kind: "per-metric",
    files: { lsnr: ref("l.onnx"), dsim: ref("d.onnx"), iclip: ref("i.onnx") },
    hidden: 4,
    layers: 2,
    opset: 14,
  },
  plateau: { weights: { lsnr: 0.3, dsim: 0.2, iclip: 0.5 }, eps: { lsnr: 0, dsim: 0, iclip: 0 } },
  training_data_hash: "0".repeat(64),
};

describe("metric_definitions (SPEC §3 revised)", () => {
  it("a manifest without it predates the revision: its L-SNR head is noise_share", () => {
    expect(lsnrDefinitionOf(bundleManifestSchema.parse(base))).toBe("noise_share");
  });

  it("records signal_share, and where a converted head came from", () => {
    const m = bundleManifestSchema.parse({
      ...base,
      metric_definitions: { lsnr: { definition: "signal_share", converted_from: "noise_share" } },
    });
    expect(lsnrDefinitionOf(m)).toBe("signal_share");
    expect(m.metric_definitions?.lsnr.converted_from).toBe("noise_share");
  });

  it("rejects a definition it does not know, naming the key", () => {
    const r = bundleManifestSchema.safeParse({
      ...base,
      metric_definitions: { lsnr: { definition: "detail_share" } },
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0].path).toEqual(["metric_definitions", "lsnr", "definition"]);
  });
});
