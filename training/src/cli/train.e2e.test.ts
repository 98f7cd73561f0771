/**
 * `npm run train` end to end on a tiny dataset (two epochs, two threads): it writes the ONNX
 * files, checkpoint and summary, reporting progress; bad flags get one line on stderr and exit
 * status 2.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writePredictorDataset } from "../train/dataset-file";

const root = resolve(__dirname, "../../..");
const dir = mkdtempSync(join(tmpdir(), "bf-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function train(...args: string[]) {
  return spawnSync(
    process.execPath,
    ["--import", "tsx", join(root, "training/src/cli/train.ts"), ...args],
    { cwd: root, encoding: "utf8", timeout: 120_000 },
  );
}

const T = 4;
const D = 6;
const split = (n: number, s: number) => ({
  n,
  inputs: Float32Array.from({ length: n * T * D }, (_, i) => Math.sin(i * s)),
  targets: Float32Array.from({ length: n * T * 3 }, (_, i) => (Math.cos(i * s) + 1) / 2),
});
const data = writePredictorDataset(dir, {
  steps: T,
  width: D,
  metrics: ["lsnr", "dsim", "iclip"],
  train: split(10, 0.3),
  val: split(4, 0.7),
});

describe("train CLI", () => {
  it("trains the 3-head model and writes predictor.onnx, one file per head, checkpoint and summary", () => {
    const out = join(dir, "run");
    const r = train(
      "--data",
      data,
      "--out",
      out,
      "--arch",
      "bilstm-3head",
      "--hidden",
      "4",
      "--mlp",
      "3",
      "--epochs",
      "2",
      "--batch",
      "4",
      "--threads",
      "2",
    );
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    // The progress reporter's last line: 2 epochs x 10 sequences, rate, ETA, loss and val loss.
    expect(r.stderr).toMatch(
      /train: 20\/20 seq \(100%\) \| [\d.]+ seq\/s \| ETA 0:00:00 \| epoch 2\/2 loss [\d.]+ val [\d.]+\n/,
    );
    for (const f of [
      "predictor.onnx",
      "predictor-lsnr.onnx",
      "predictor-dsim.onnx",
      "predictor-iclip.onnx",
      "checkpoint.bfck",
    ])
      expect(existsSync(join(out, f)), f).toBe(true);
    const summary = JSON.parse(readFileSync(join(out, "training.json"), "utf8"));
    expect(summary.history).toHaveLength(2);
    expect(summary.model).toMatchObject({
      architecture: "bilstm-3head",
      hidden: 4,
      mlp: 3,
      width: D,
    });
  });

  it.each([
    [["--data", "x.json", "--out", "o", "--bogus"], /bogus/],
    [["--out", "o"], /--data/],
    [["--data", "x.json", "--out", "o", "--hidden", "abc"], /--hidden/],
    [["--data", "x.json", "--out", "o", "--arch", "gru"], /--arch/],
    [["--data", data, "--out", join(dir, "never"), "--layers", "99"], /^train: --layers: /],
    [["--data", "missing.json", "--out", "o"], /--data: dataset: cannot read/],
  ])("rejects %j with one line and status 2", (args, msg) => {
    const r = train(...(args as string[]));
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(msg as RegExp);
  });

  it("needs --metric for a single-head model on a 3-metric dataset", () => {
    const r = train("--data", data, "--out", join(dir, "x"), "--epochs", "1");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--metric/);
  });
});
