/**
 * The dead zone appended to an exported predictor (export/onnx-dead-zone.ts) equals the TS
 * reference (model/curve-dead-zone.ts) applied to the raw model's output, bit for bit; δ = 0
 * leaves the file as it was, and bad input is refused naming the field.
 */
import { afterAll, describe, expect, it } from "vitest";
import { parseModelConfig } from "../model/config";
import { curveDeadZone } from "../model/curve-dead-zone";
import { initParams, paramSpecs, viewParams } from "../model/params";
import { withDeadZone } from "./onnx-dead-zone";
import { exportPredictorOnnx } from "./onnx-export";
import { scoreRunner } from "./test-support/score-runner";

const [n, T, D] = [5, 11, 8];
const { scores, release } = scoreRunner(n, T, D, 4);
afterAll(release);
const cfg = parseModelConfig({ architecture: "bilstm", width: D, hidden: 6, mlp: 5 });
const specs = paramSpecs(cfg);
const { flat, map: params } = viewParams(specs);
initParams(specs, flat, 3);

describe.each([
  ["dense", undefined],
  ["grid", [1, 2, 4, 7, T]],
] as const)("the dead zone on a %s export", (_, grid) => {
  const raw = exportPredictorOnnx(params, {
    architecture: "bilstm",
    ...(grid ? { outputGrid: [...grid] } : {}),
  });

  it("equals curveDeadZone of the raw scores, and changes some of them", async () => {
    const before = await scores(raw);
    const spread = Math.max(...before) - Math.min(...before);
    const delta = spread / 4;
    const want = curveDeadZone(before, n, T, delta);
    expect(want.some((v, i) => v !== before[i])).toBe(true);
    expect(Array.from(await scores(withDeadZone(raw, delta)))).toEqual(Array.from(want));
  });

  it("is the model itself at δ = 0", () => {
    expect(withDeadZone(raw, 0)).toBe(raw);
  });
});

describe("withDeadZone input", () => {
  const raw = exportPredictorOnnx(params, { architecture: "bilstm" });
  it("refuses a negative or non-finite δ and a missing output, naming the field", () => {
    expect(() => withDeadZone(raw, -0.1)).toThrow(/δ must be a finite number >= 0/);
    expect(() => withDeadZone(raw, Number.NaN)).toThrow(/δ/);
    expect(() => withDeadZone(raw, 0.1, "curve")).toThrow(/no output "curve"/);
  });
});
