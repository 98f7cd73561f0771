/**
 * The ensemble model (export/onnx-ensemble.ts) computes the mean of its members' outputs, on
 * dense and grid exports; one member is the member itself; members that do not share an
 * interface are refused naming the member.
 */
import onnxProto from "onnx-proto";
import { afterAll, describe, expect, it } from "vitest";
import { parseModelConfig } from "../model/config";
import { initParams, paramSpecs, viewParams } from "../model/params";
import { meanOfModels } from "./onnx-ensemble";
import { exportPredictorOnnx } from "./onnx-export";
import { scoreRunner } from "./test-support/score-runner";

const { onnx } = onnxProto;

const [n, T, D] = [4, 11, 8];
const { scores, release } = scoreRunner(n, T, D, 5);
afterAll(release);
const cfg = parseModelConfig({ architecture: "bilstm", width: D, hidden: 6, mlp: 5 });

function member(seed: number, grid?: readonly number[]): Uint8Array {
  const specs = paramSpecs(cfg);
  const { flat, map } = viewParams(specs);
  initParams(specs, flat, seed);
  return exportPredictorOnnx(
    map,
    { architecture: "bilstm", ...(grid ? { outputGrid: [...grid] } : {}) },
    { outputAffine: { scale: 1.1, offset: -0.05 }, ...(grid ? { monotone: "falling" } : {}) },
  );
}

describe.each([
  ["dense", undefined],
  ["grid", [1, 2, 4, 7, T]],
] as const)("the mean of %s exports", (_, grid) => {
  const members = [1, 2, 3].map((s) => member(s, grid));

  it("is the mean of the members' scores, which differ", async () => {
    const each = await Promise.all(members.map(scores));
    expect(each[1].some((v, i) => v !== each[0][i])).toBe(true);
    const merged = await scores(meanOfModels(members));
    expect(merged.length).toBe(n * T);
    for (let i = 0; i < merged.length; i++)
      expect(merged[i]).toBeCloseTo((each[0][i] + each[1][i] + each[2][i]) / 3, 6);
  });

  it("is the model itself for one member", () => {
    expect(meanOfModels(members.slice(0, 1))).toBe(members[0]);
  });
});

describe("meanOfModels input", () => {
  it("refuses no members, and a member with another output, naming the member", () => {
    expect(() => meanOfModels([])).toThrow(/at least one member/);
    const plain = member(1);
    const other = onnx.ModelProto.decode(plain);
    const graph = other.graph as onnxProto.onnx.GraphProto;
    for (const node of graph.node)
      node.output = (node.output ?? []).map((o) => (o === "scores" ? "curve" : o));
    graph.output[0].name = "curve";
    expect(() => meanOfModels([plain, onnx.ModelProto.encode(other).finish()])).toThrow(
      /member 1 has inputs, output or opsets features -> curve/,
    );
  });
});
