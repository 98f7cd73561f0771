import { describe, expect, it } from "vitest";
import { decodeFloat16, encodeFloat16, fromHalfBits, toHalfBits } from "./float16";

describe("float16 codec", () => {
  it("encodes reference values (IEEE 754 binary16 table)", () => {
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-2)).toBe(0xc000);
    expect(toHalfBits(65504)).toBe(0x7bff); // largest finite half
    expect(toHalfBits(65520)).toBe(0x7c00); // rounds to +inf
    expect(toHalfBits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toHalfBits(2 ** -14)).toBe(0x0400); // smallest normal
    expect(toHalfBits(0.1)).toBe(0x2e66);
    expect(toHalfBits(1 / 3)).toBe(0x3555);
    expect(toHalfBits(-0)).toBe(0x8000);
    expect(toHalfBits(Number.NaN) & 0x7c00).toBe(0x7c00);
  });

  it("rounds ties to even", () => {
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to the even mantissa (1.0).
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3*2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9 (even): rounds up.
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it("decodes and round-trips every finite half", () => {
    expect(fromHalfBits(0x3c00)).toBe(1);
    expect(fromHalfBits(0x0001)).toBe(2 ** -24);
    expect(fromHalfBits(0xfbff)).toBe(-65504);
    const bits = new Uint16Array(0x7c00);
    for (let i = 0; i < bits.length; i++) bits[i] = i;
    expect(Array.from(encodeFloat16(decodeFloat16(bits)))).toEqual(Array.from(bits));
  });
});
