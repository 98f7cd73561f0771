import { ValidationError } from "@budgetfusion/shared/errors";
import { decodePngToRgb } from "@budgetfusion/shared/image/png-image";
import { fixturePath } from "@budgetfusion/test-helpers/fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GenerationRequest } from "./generator";
import { InProcessGenerator } from "./in-process-generator";

const base = { negativePrompt: null, guidanceScale: 7.5, width: 64, height: 64 } as const;
const requests: GenerationRequest[] = [
  { ...base, prompt: "a red ball on a table", seed: 11, steps: 5 },
  { ...base, prompt: "two dogs on a beach", seed: 4_000_000_000, steps: 5 },
  { ...base, prompt: "a plain white wall", seed: 0, steps: 5 },
];

describe("InProcessGenerator.generateBatch (tiny SD2 fixture)", () => {
  let gen: InProcessGenerator;
  beforeAll(async () => {
    gen = await InProcessGenerator.load(fixturePath("tiny-sd2"));
  });
  afterAll(() => gen.close());

  it("gives each request the image a batch-1 generation with its seed gives", async () => {
    const batched = await gen.generateBatch(requests);
    expect(batched).toHaveLength(requests.length);
    for (const [i, r] of requests.entries()) {
      const single = decodePngToRgb((await gen.generate(r)).png).data;
      const fromBatch = decodePngToRgb(batched[i].png).data;
      expect(fromBatch.length).toBe(single.length);
      let maxDiff = 0;
      for (let k = 0; k < single.length; k++)
        maxDiff = Math.max(maxDiff, Math.abs(single[k] - fromBatch[k]));
      // Batched ONNX kernels may round differently: at most one 8-bit level.
      expect(maxDiff).toBeLessThanOrEqual(1 / 255 + 1e-6);
    }
    // Different seeds and prompts really are different images (not one broadcast).
    expect(Buffer.from(batched[0].png).equals(Buffer.from(batched[1].png))).toBe(false);
  });

  it("refuses a batch whose requests differ in anything but prompt and seed", async () => {
    const mixed = [requests[0], { ...requests[1], steps: 9 }];
    await expect(gen.generateBatch(mixed)).rejects.toThrow(ValidationError);
    await expect(gen.generateBatch(mixed)).rejects.toThrow(/share steps; request 1/);
  });
});
