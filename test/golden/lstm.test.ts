/**
 * Parity of the hand-written BiLSTM predictor (training/src/model) with PyTorch on
 * fixtures/lstm-ref (cases "small" and "dense"): with the fixture parameters loaded, the output,
 * the MSE loss (mean reduction) and every parameter gradient must agree.
 * Measure: per tensor, max|ours - torch| / max|torch| (maxScaledDiff) <= 1e-5; the loss (a
 * scalar) |ours - torch| / |torch| <= 1e-5.
 */

import { maxScaledDiff, readF32 } from "@budgetfusion/test-helpers/fixtures";
import { LSTM_REF_DIR, type LstmCase, lstmRefCases } from "@budgetfusion/test-helpers/lstm-ref";
import { parseModelConfig } from "@budgetfusion/training/model/config";
import { type ParamMap, paramSpecs, viewParams } from "@budgetfusion/training/model/params";
import { predictorForward, predictorForwardBackward } from "@budgetfusion/training/model/predictor";
import { describe, expect, it } from "vitest";

const dir = LSTM_REF_DIR;
const ref = { cases: lstmRefCases() };
const TOL = 1e-5;

function loadCase(c: LstmCase) {
  const cfg = parseModelConfig({ width: c.din, hidden: c.hidden, mlp: c.mlp, layers: 2 });
  const specs = paramSpecs(cfg);
  const { map: params } = viewParams(specs);
  for (const s of specs) {
    const r = c.params[s.name];
    expect(r, s.name).toBeDefined();
    expect(r.shape).toEqual(s.shape);
    params.get(s.name)?.data.set(readF32(dir, r).data);
  }
  // The fixture has no tensor we lack either: the mapping is 1:1.
  expect(Object.keys(c.params).sort()).toEqual(specs.map((s) => s.name).sort());
  return { cfg, specs, params };
}

describe.each(ref.cases)("lstm-ref $name", (c) => {
  const x = readF32(dir, c.input).data;
  const y = readF32(dir, c.target).data;
  const want = readF32(dir, c.output).data;

  it("forward output matches torch", () => {
    const { cfg, params } = loadCase(c);
    const out = predictorForward(cfg, params, x, c.batch, c.seq);
    expect(maxScaledDiff(out, want)).toBeLessThanOrEqual(TOL);
  });

  it("loss and every parameter gradient match torch (MSE, mean reduction)", () => {
    const { cfg, specs, params } = loadCase(c);
    const { map: grads } = viewParams(specs);
    const r = predictorForwardBackward(cfg, params, grads, x, y, c.batch, c.seq, c.batch * c.seq, {
      train: false,
    });
    expect(Math.abs(r.loss - c.loss) / c.loss).toBeLessThanOrEqual(TOL);
    expect(maxScaledDiff(r.outputs, want)).toBeLessThanOrEqual(TOL);
    const errs: Record<string, number> = {};
    for (const s of specs)
      errs[s.name] = maxScaledDiff(gradOf(grads, s.name), readF32(dir, c.grads[s.name]).data);
    for (const [name, e] of Object.entries(errs)) expect(e, name).toBeLessThanOrEqual(TOL);
  });
});

function gradOf(g: ParamMap, name: string): Float32Array {
  const t = g.get(name);
  if (!t) throw new Error(name);
  return t.data;
}
