/**
 * End to end: `npm run pipeline:smoke` on the tiny fixtures (sampling, dataset, metrics,
 * training, export, evaluation, bundle) as a child process, then checks every artefact:
 * dataset rows complete and unique, the report's relative_quality, the SVG plots, a bundle whose
 * manifest validates and whose predictor ONNX runs, and that a rerun resumes without redoing work.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  bundleManifestSchema,
  manifestFiles,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import { FIXTURES } from "@budgetfusion/test-helpers/fixtures";
import { openDatasetDb } from "@budgetfusion/training/db/open-dataset-db";
import { images, metrics } from "@budgetfusion/training/db/schema";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const PIPELINE = join(ROOT, "training/src/cli/pipeline.ts");

function runSmoke(work: string, ...extra: string[]) {
  return spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      PIPELINE,
      "--smoke",
      "--fixtures",
      FIXTURES,
      "--out",
      join(work, "run"),
      "--reports-dir",
      join(work, "reports"),
      "--bundles-dir",
      join(work, "bundles"),
      ...extra,
    ],
    { cwd: ROOT, encoding: "utf8", timeout: 900_000 },
  );
}

describe("pipeline:smoke", () => {
  it("runs the whole chain on the fixtures and resumes by stage", async () => {
    const work = mkdtempSync(join(tmpdir(), "bf-smoke-"));
    const first = runSmoke(work);
    expect(first.stderr).toContain("bundle done");
    expect(first.status).toBe(0);

    // dataset: 6 prompts x 12 step counts x 2 seeds, unique, seed-averaged metrics in [0, 1]
    const db = openDatasetDb(join(work, "run", "dataset.sqlite"));
    const rows = db.select().from(images).all();
    const means = db.select().from(metrics).all();
    db.$client.close();
    expect(rows).toHaveLength(6 * 12 * 2);
    expect(new Set(rows.map((r) => `${r.promptId}/${r.steps}/${r.seed}`)).size).toBe(rows.length);
    expect(means).toHaveLength(6 * 12);
    for (const m of means) {
      for (const v of [m.lsnr, m.dsim, m.iclip]) expect(v >= 0 && v <= 1).toBe(true);
      expect(m.seeds).toBe(2);
      // D-SIM of the reference against itself is 0, I-CLIP 1
      if (m.steps === 129) {
        expect(m.dsim).toBeLessThan(1e-5);
        expect(m.iclip).toBeGreaterThan(1 - 1e-5);
      }
    }

    // report
    const report = JSON.parse(
      readFileSync(join(work, "reports", "smoke", "evaluation.json"), "utf8"),
    );
    for (const metric of ["lsnr", "dsim", "iclip"]) {
      expect(Number.isFinite(report.relative_quality[metric].mean)).toBe(true);
      expect(Number.isFinite(report.relative_quality[metric].stderr)).toBe(true);
      expect(Number.isFinite(report.table1_mae_dense.full[metric])).toBe(true);
    }
    expect(report.time.seconds_per_image.reference.n).toBeGreaterThan(0);
    expect(report.lsnr_definition).toBe("signal_share"); // SPEC §3 revised
    for (const svg of ["curves-lsnr.svg", "t-star-histogram.svg", "quality-vs-compute.svg"]) {
      expect(readFileSync(join(work, "reports", "smoke", svg), "utf8")).toMatch(
        /^<svg[\s\S]*<\/svg>$/,
      );
    }

    // bundle: valid manifest, checksums, and the predictor runs with the manifest's I/O names
    const [version] = readdirSync(join(work, "bundles"));
    const dir = join(work, "bundles", version);
    const manifest = bundleManifestSchema.parse(
      JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")),
    );
    expect(manifest.metric_definitions).toEqual({ lsnr: { definition: "signal_share" } });
    expect(manifest.evaluation.lsnr_definition).toBe("signal_share");
    for (const ref of manifestFiles(manifest)) {
      expect(
        createHash("sha256")
          .update(readFileSync(join(dir, ref.file)))
          .digest("hex"),
      ).toBe(ref.sha256);
    }
    const session = await ort.InferenceSession.create(
      join(dir, manifest.predictor.files.iclip.file),
    );
    const width = manifest.embedding.width;
    const out = await session.run({
      [manifest.predictor.input]: new ort.Tensor(
        "float32",
        new Float32Array(129 * width).fill(0.1),
        [1, 129, width],
      ),
    });
    const scores = out[manifest.predictor.output];
    expect(scores.dims).toEqual([1, 129]);
    for (const v of scores.data as Float32Array) expect(v >= 0 && v <= 1).toBe(true);

    // rerun: every stage is recorded done, nothing is regenerated
    const firstImage = join(work, "run", rows[0].file);
    const mtime = statSync(firstImage).mtimeMs;
    const second = runSmoke(work);
    expect(second.status).toBe(0);
    expect(second.stderr).not.toContain("done in");
    expect(statSync(firstImage).mtimeMs).toBe(mtime);
    expect(existsSync(join(work, "run", "state.json"))).toBe(true);

    // A missing model retrains it, and the stages after train run again on the new model.
    rmSync(join(work, "run", "models", "full", "dsim.onnx"));
    const third = runSmoke(work);
    expect(third.status).toBe(0);
    for (const stage of ["train", "evaluate", "bundle"])
      expect(third.stderr).toContain(`${stage} done in`);
    for (const stage of ["sample", "dataset", "metrics"])
      expect(third.stderr).not.toContain(`${stage} done in`);
    expect(statSync(firstImage).mtimeMs).toBe(mtime);

    // A dead zone (model/curve-dead-zone.ts) rewrites the exports from the kept raw ones without
    // retraining, and "none" puts the raw ones back.
    const models = join(work, "run", "models");
    const bytes = (variant: string, file: string) => readFileSync(join(models, variant, file));
    const trainedDsim = bytes("full", "dsim.onnx");
    const zoned = runSmoke(work, "--curve-dead-zone", "0,0.05,0.1", "--until", "train");
    expect(zoned.status).toBe(0);
    expect(zoned.stderr).toContain("train done in");
    expect(zoned.stderr).not.toContain("trained full/");
    expect(JSON.parse(readFileSync(join(models, "dead-zone.json"), "utf8"))).toMatchObject({
      option: [0, 0.05, 0.1],
      delta: { lsnr: 0, dsim: 0.05, iclip: 0.1 },
    });
    expect(bytes("full", "dsim.raw.onnx").equals(trainedDsim)).toBe(true);
    expect(bytes("full", "dsim.onnx").equals(trainedDsim)).toBe(false);
    expect(bytes("mlp_tanh", "iclip.onnx").equals(bytes("mlp_tanh", "iclip.raw.onnx"))).toBe(false);
    expect(bytes("full", "lsnr.onnx").equals(bytes("full", "lsnr.raw.onnx"))).toBe(true);
    const undone = runSmoke(work, "--until", "train");
    expect(undone.status).toBe(0);
    expect(undone.stderr).toContain("train done in");
    expect(bytes("full", "dsim.onnx").equals(trainedDsim)).toBe(true);

    // A seed ensemble (export/onnx-ensemble.ts) keeps the trained model as member 0 and trains
    // only the new member; back at one member the single model returns without training.
    const grown = runSmoke(work, "--ensemble", "1,2,1", "--until", "train");
    expect(grown.status).toBe(0);
    expect(grown.stderr).toContain("trained full/dsim member 1");
    expect(grown.stderr).not.toMatch(/trained full\/(lsnr|iclip)|member 0/);
    expect(bytes("full", "dsim.member0.onnx").equals(trainedDsim)).toBe(true);
    expect(bytes("full", "dsim.onnx").length).toBeGreaterThan(2 * trainedDsim.length - 1024);
    expect(JSON.parse(readFileSync(join(models, "full", "dsim.ensemble.json"), "utf8"))).toEqual({
      members: 2,
      seeds: [0, 1],
    });
    const single = runSmoke(work, "--until", "train");
    expect(single.status).toBe(0);
    expect(single.stderr).not.toContain("trained full/");
    expect(bytes("full", "dsim.onnx").equals(trainedDsim)).toBe(true);
    expect(existsSync(join(models, "full", "dsim.ensemble.json"))).toBe(false);
  }, 900_000);
});
