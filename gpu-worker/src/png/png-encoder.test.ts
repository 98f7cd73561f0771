import { encodeImagePng } from "@budgetfusion/shared/image/png-image";
import { mersenneRandom } from "@budgetfusion/shared/random/seeded-random";
import { afterAll, describe, expect, it } from "vitest";
import { inlinePngEncoder, ThreadPngEncoder } from "./png-encoder";

describe("ThreadPngEncoder", () => {
  const thread = new ThreadPngEncoder();
  afterAll(() => thread.close());

  it("writes the bytes encodeImagePng writes, for every image of a batch", async () => {
    const rand = mersenneRandom(5);
    const dims = [3, 40, 24, 3];
    const images = Float32Array.from({ length: 3 * 40 * 24 * 3 }, () => rand.uniform(-0.1, 1.1));
    const copy = images.slice();
    for (let i = 0; i < 3; i++) {
      const expected = encodeImagePng(images, dims, i);
      expect(await thread.encode(images, dims, i)).toEqual(expected);
      expect(await inlinePngEncoder.encode(images, dims, i)).toEqual(expected);
    }
    // The caller's floats are untouched (only the quantised copy is transferred).
    expect(images).toEqual(copy);
  });

  it("rejects a bad index with the shape error, not a thread failure", async () => {
    await expect(thread.encode(new Float32Array(12), [1, 2, 2, 3], 1)).rejects.toThrow(/image 1/);
  });
});
