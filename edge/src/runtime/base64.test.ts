import { describe, expect, it } from "vitest";
import { float32FromBase64, float32ToBase64 } from "./base64";

describe("float32 base64", () => {
  it("round-trips every bit, including signed zero, subnormals, extremes and NaN", () => {
    const v = new Float32Array([
      0,
      -0,
      1.401298464324817e-45,
      -3.4028234663852886e38,
      Number.NaN,
      0.1,
    ]);
    const back = float32FromBase64(float32ToBase64(v));
    expect(new Uint8Array((back as Float32Array).buffer)).toEqual(new Uint8Array(v.buffer));
  });

  it("encodes a view of a larger buffer, and vectors wider than one chunk", () => {
    const big = new Float32Array(5000).map((_, i) => i / 7);
    const view = big.subarray(3, 4003);
    expect(Array.from(float32FromBase64(float32ToBase64(view)) ?? [])).toEqual(Array.from(view));
    expect(float32ToBase64(new Float32Array([1]))).toBe("AACAPw==");
  });

  it("refuses text that is not base64 of whole float32 values", () => {
    expect(float32FromBase64("[0.5, 0.25]")).toBeUndefined();
    expect(float32FromBase64(btoa("abc"))).toBeUndefined();
    expect(float32FromBase64("")).toEqual(new Float32Array(0));
  });
});
