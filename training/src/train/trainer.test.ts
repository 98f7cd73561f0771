/**
 * Training loop behaviour: it learns a learnable toy task, stops early when the validation loss
 * only rises, rejects mis-shaped data, and a run resumed from a checkpoint ends bit-identical to
 * an uninterrupted run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { afterAll, describe, expect, it } from "vitest";
import { readCheckpoint } from "./checkpoint";
import { predict } from "./predict";
import { trainPredictor } from "./trainer";

const T = 6;
const D = 5;
const tmp = mkdtempSync(join(tmpdir(), "bf-train-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Target = sigmoid of a fixed linear function of the input: learnable by every architecture. */
function toy(n: number, seed: number) {
  const r = splitMix32Random(seed);
  const x = Float32Array.from({ length: n * T * D }, () => r.uniform(-1, 1));
  const y = new Float32Array(n * T);
  for (let i = 0; i < n * T; i++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += x[i * D + d] * (d % 2 ? 1.5 : -1);
    y[i] = 1 / (1 + Math.exp(-s));
  }
  return { x, y };
}

const small = { hidden: 8, mlp: 8, batchSize: 8, lr: 1e-2, dropout: 0.1, threads: 1 };

describe("trainPredictor", () => {
  it("learns a toy task (validation MSE falls by more than half)", async () => {
    const tr = toy(64, 1);
    const va = toy(16, 2);
    const r = await trainPredictor({
      inputs: tr.x,
      targets: tr.y,
      n: 64,
      steps: T,
      width: D,
      valInputs: va.x,
      valTargets: va.y,
      nVal: 16,
      config: { ...small, maxEpochs: 15, patience: 15 },
    });
    expect(r.history).toHaveLength(15);
    expect(r.history[r.bestEpoch].valLoss).toBeLessThan(0.5 * r.history[0].valLoss);
    // Returned parameters are the best epoch's: predict reproduces its validation loss.
    const out = predict(r.params, { architecture: "bilstm" }, va.x, 16);
    let mse = 0;
    for (let i = 0; i < out.length; i++) mse += (out[i] - va.y[i]) ** 2;
    expect(mse / out.length).toBeCloseTo(r.history[r.bestEpoch].valLoss, 6);
  });

  it("stops early once the validation loss has not improved for `patience` epochs", async () => {
    const tr = toy(16, 3);
    const va = toy(8, 4);
    // Validation wants the opposite of training: every training epoch makes it worse.
    const r = await trainPredictor({
      inputs: tr.x,
      targets: tr.y.map(() => 0.95),
      n: 16,
      steps: T,
      width: D,
      valInputs: va.x,
      valTargets: va.y.map(() => 0.05),
      nVal: 8,
      config: { ...small, maxEpochs: 20, patience: 2 },
    });
    expect(r.bestEpoch).toBe(0);
    expect(r.history).toHaveLength(3);
  });

  it("rejects targets of the wrong length, naming the field", async () => {
    const tr = toy(4, 5);
    await expect(
      trainPredictor({
        inputs: tr.x,
        targets: tr.y.subarray(1),
        n: 4,
        steps: T,
        width: D,
        config: small,
      }),
    ).rejects.toMatchObject({ field: "targets" });
  });

  it.each([1, 2])(
    "resumed from a checkpoint continues bit-identically (%i thread(s))",
    async (threads) => {
      const tr = toy(20, 6);
      const va = toy(6, 7);
      const base = {
        inputs: tr.x,
        targets: tr.y,
        n: 20,
        steps: T,
        width: D,
        valInputs: va.x,
        valTargets: va.y,
        nVal: 6,
      };
      const cfg = { ...small, threads, patience: 10 };
      const full = join(tmp, `full-${threads}`);
      const cut = join(tmp, `cut-${threads}`);
      const a = await trainPredictor({
        ...base,
        config: { ...cfg, maxEpochs: 3 },
        checkpointDir: full,
      });
      await trainPredictor({ ...base, config: { ...cfg, maxEpochs: 2 }, checkpointDir: cut });
      const b = await trainPredictor({
        ...base,
        config: { ...cfg, maxEpochs: 3 },
        checkpointDir: cut,
        resume: true,
      });
      expect(b.history).toEqual(
        a.history.map((h, i) => ({
          ...h,
          seconds: b.history[i].seconds,
          seqPerSec: b.history[i].seqPerSec,
        })),
      );
      const ca = readCheckpoint(full);
      const cb = readCheckpoint(cut);
      for (const name of ["params", "adam.m", "adam.v", "best"]) {
        const x = ca.blobs.get(name);
        const y = cb.blobs.get(name);
        expect(y && x && Buffer.from(y.buffer).equals(Buffer.from(x.buffer)), name).toBe(true);
      }
    },
  );
});
