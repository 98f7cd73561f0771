import { encode } from "fast-png";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors";
import { decodePngToRgb, encodeRgbToPng } from "./png-image";

/** Decoded values are stored as float32. */
const f = Math.fround;

describe("encodeRgbToPng / decodePngToRgb", () => {
  it("round-trips 8-bit values exactly", () => {
    const width = 5;
    const height = 3;
    const data = new Float32Array(width * height * 3);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 37) % 256) / 255;
    const back = decodePngToRgb(encodeRgbToPng({ data, width, height }));
    expect([back.width, back.height]).toEqual([5, 3]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
  });

  it("clamps to [0, 1] and rounds x * 255 like numpy on float32 (half to even)", () => {
    // float32 products (checked with numpy): -0.5 -> 0, 1.7 -> 255, .998 * 255 = 254.49 -> 254,
    // .002 * 255 = .51 -> 1; ties: .5 * 255 = 127.5 -> 128, float32(126.5/255) * 255 = 126.5 ->
    // 126, float32(2.5/255) * 255 = 2.5 -> 2 (even). float32(0.845098) * 255 rounds in float32 to
    // exactly 215.5 -> 216, while the float64 product 215.4999947 would give 215: that is the one
    // pixel of fixtures' fruit_eps_9 image a float64 rounding gets wrong.
    const data = Float32Array.from([
      -0.5,
      1.7,
      0.998,
      0.002,
      0.5,
      126.5 / 255,
      2.5 / 255,
      0.845098,
      0,
    ]);
    const back = decodePngToRgb(encodeRgbToPng({ data, width: 3, height: 1 }));
    const levels = Array.from(back.data, (v) => Math.round(v * 255));
    expect(levels).toEqual([0, 255, 254, 1, 128, 126, 2, 216, 0]);
    expect(Math.fround(0.845098) * 255).toBeLessThan(215.5); // the float64 product is below .5
  });

  it("decodes gray, gray+alpha, RGBA and 16-bit PNGs", () => {
    const gray = encode({ width: 2, height: 1, data: Uint8Array.from([0, 51]), channels: 1 });
    expect(Array.from(decodePngToRgb(gray).data)).toEqual([0, 0, 0, f(0.2), f(0.2), f(0.2)]);

    const ga = encode({ width: 1, height: 1, data: Uint8Array.from([255, 0]), channels: 2 });
    expect(Array.from(decodePngToRgb(ga).data)).toEqual([1, 1, 1]);

    const rgba = encode({
      width: 1,
      height: 1,
      data: Uint8Array.from([255, 0, 51, 7]),
      channels: 4,
    });
    expect(Array.from(decodePngToRgb(rgba).data)).toEqual([1, 0, f(0.2)]);

    const deep = encode({
      width: 1,
      height: 1,
      data: Uint16Array.from([65535, 0, 13107]),
      channels: 3,
      depth: 16,
    });
    const d = decodePngToRgb(deep).data;
    expect(Array.from(d)).toEqual([1, 0, Math.fround(13107 / 65535)]);
  });

  it("rejects bytes that are no PNG, and NaN pixels", () => {
    expect(() => decodePngToRgb(Uint8Array.from([1, 2, 3]))).toThrow(ValidationError);
    expect(() => decodePngToRgb(Uint8Array.from([1, 2, 3]))).toThrow(
      expect.objectContaining({ field: "png" }),
    );
    expect(() =>
      encodeRgbToPng({ data: Float32Array.from([0, Number.NaN, 0]), width: 1, height: 1 }),
    ).toThrow(expect.objectContaining({ field: "image.data[1]" }));
  });
});
