import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readPredictorDataset, writePredictorDataset } from "./dataset-file";

const dir = mkdtempSync(join(tmpdir(), "bf-ds-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("predictor dataset files", () => {
  it("round-trips header and float32 arrays", () => {
    const train = {
      n: 2,
      inputs: Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i / 7),
      targets: Float32Array.from({ length: 2 * 3 * 3 }, (_, i) => i / 100),
    };
    const val = {
      n: 1,
      inputs: new Float32Array(12).fill(0.5),
      targets: new Float32Array(9).fill(0.25),
    };
    const path = writePredictorDataset(dir, {
      steps: 3,
      width: 4,
      metrics: ["lsnr", "dsim", "iclip"],
      train,
      val,
    });
    const ds = readPredictorDataset(path);
    expect(ds.header.steps).toBe(3);
    expect(ds.train.inputs).toEqual(train.inputs);
    expect(ds.train.targets).toEqual(train.targets);
    expect(ds.val?.targets).toEqual(val.targets);
  });

  it("names the field of a bad header and of a truncated array", () => {
    const bad = join(dir, "bad.json");
    writeFileSync(
      bad,
      JSON.stringify({
        format: "budgetfusion-predictor-dataset",
        version: 1,
        steps: 0,
        width: 4,
        metrics: ["lsnr"],
        splits: { train: { n: 1, inputs: "a", targets: "b" } },
      }),
    );
    expect(() => readPredictorDataset(bad)).toThrow(
      expect.objectContaining({ field: "dataset.steps" }),
    );
    writeFileSync(join(dir, "a.bin"), new Uint8Array(8));
    writeFileSync(
      bad,
      JSON.stringify({
        format: "budgetfusion-predictor-dataset",
        version: 1,
        steps: 1,
        width: 4,
        metrics: ["lsnr"],
        splits: { train: { n: 1, inputs: "a.bin", targets: "b" } },
      }),
    );
    expect(() => readPredictorDataset(bad)).toThrow(
      expect.objectContaining({ field: "dataset.splits.train.inputs" }),
    );
  });
});
