import { describe, expect, it } from "vitest";
import { asComputeTimings, computeMs, computeMsAtSteps } from "./compute-time";

describe("computeMs", () => {
  it("sums text encoder, UNet loop and VAE when all three are reported", () => {
    expect(computeMs({ text_ms: 5, unet_ms: 80, vae_ms: 15, total_ms: 130, queue_ms: 20 })).toBe(
      100,
    );
  });
  it("falls back to total minus queue wait, never below 0", () => {
    expect(computeMs({ total_ms: 12, unet_ms: 10 })).toBe(12);
    expect(computeMs({ total_ms: 50, queue_ms: 20 })).toBe(30);
    expect(computeMs({ total_ms: 5, queue_ms: 20 })).toBe(0);
  });
  it("is undefined without timings or with non-numbers", () => {
    expect(computeMs(undefined)).toBeUndefined();
    expect(computeMs(null)).toBeUndefined();
    expect(computeMs({ total_ms: "12" })).toBeUndefined();
    expect(asComputeTimings("x")).toBeUndefined();
    expect(asComputeTimings(null)).toBeUndefined();
  });
});

describe("computeMsAtSteps", () => {
  const timings = { text_ms: 5, unet_ms: 80, vae_ms: 15 };
  it("scales only the UNet share with the step count", () => {
    // 20 steps took 80 ms of UNet: 4 ms a step; at 65 steps 260 ms, plus 20 fixed.
    expect(computeMsAtSteps(timings, 20, 65)).toBeCloseTo(280, 12);
    expect(computeMsAtSteps(timings, 20, 20)).toBeCloseTo(100, 12);
    expect(computeMsAtSteps(timings, 20, 10)).toBeCloseTo(60, 12);
  });
  it("scales the whole compute without a UNet timing; undefined when unknown", () => {
    expect(computeMsAtSteps({ total_ms: 40 }, 10, 20)).toBeCloseTo(80, 12);
    expect(computeMsAtSteps(undefined, 10, 20)).toBeUndefined();
    expect(computeMsAtSteps(timings, 0, 20)).toBeUndefined();
  });
  it("computeMs refers to nothing outside its body, so the page can embed its source", () => {
    const embedded = new Function(`return ${computeMs.toString()}`)() as typeof computeMs;
    expect(embedded(timings)).toBe(100);
  });
});
