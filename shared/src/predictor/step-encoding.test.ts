import { describe, expect, it } from "vitest";
import { bundleManifestSchema } from "./bundle-manifest";
import {
  defaultStepEncoding,
  predictorFeatures,
  stepEncodingVector,
  stepPosition,
} from "./step-encoding";

describe("step encoding", () => {
  it("is the unit-norm transformer sinusoid of the step", () => {
    const enc = defaultStepEncoding(8);
    const v = stepEncodingVector(3, enc);
    // k = 1: w = 10000^(-2/8) = 0.1
    expect(v[2]).toBeCloseTo(Math.sin(0.3) / 2, 6);
    expect(v[3]).toBeCloseTo(Math.cos(0.3) / 2, 6);
    expect(Math.hypot(...v)).toBeCloseTo(1, 6);
  });

  it("scales to the requested L2 norm", () => {
    const v = stepEncodingVector(17, defaultStepEncoding(8, "step", 0.25));
    expect(Math.hypot(...v)).toBeCloseTo(0.25, 6);
  });

  it("log_step keeps the 1..129 span and compresses the flat tail", () => {
    const enc = defaultStepEncoding(8, "log_step");
    expect(stepPosition(1, enc)).toBe(1);
    expect(stepPosition(129, enc)).toBeCloseTo(129, 10);
    const tail = stepPosition(129, enc) - stepPosition(65, enc);
    expect(tail / 128).toBeCloseTo(Math.log(129 / 65) / Math.log(129), 10);
    expect(tail).toBeLessThan(0.15 * 128);
    expect(stepPosition(33, defaultStepEncoding(8))).toBe(33);
    const v = stepEncodingVector(65, enc);
    const p = stepPosition(65, enc);
    expect(v[0]).toBeCloseTo(Math.sin(p) / 2, 6);
  });

  it("reads bundles written before the position field as linear steps", () => {
    const { position, ...old } = defaultStepEncoding(8);
    expect(position).toBe("step");
    const parsed = bundleManifestSchema.shape.step_encoding.parse(old);
    expect(parsed.position).toBe("step");
    expect(() =>
      bundleManifestSchema.shape.step_encoding.parse({ ...old, position: "sqrt" }),
    ).toThrow();
  });

  it("adds t̄ to every step of every prompt, or nothing for the ablation", () => {
    const enc = defaultStepEncoding(4, "log_step");
    const emb = Float32Array.of(1, 0, 0, 0, 0, 1, 0, 0);
    const f = predictorFeatures(emb, 2, 3, enc);
    const t2 = stepEncodingVector(2, enc);
    expect(f[(1 * 3 + 1) * 4 + 1]).toBeCloseTo(1 + t2[1], 6);
    expect(Array.from(predictorFeatures(emb, 2, 3, enc, false).subarray(12, 16))).toEqual([
      0, 1, 0, 0,
    ]);
  });
});
