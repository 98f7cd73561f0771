import { NonFiniteError } from "@budgetfusion/shared/errors";
import { EulerDiscreteScheduler } from "@budgetfusion/shared/schedulers/euler-discrete";
import { parseSchedulerConfig } from "@budgetfusion/shared/schedulers/scheduler-config";
import { describe, expect, it } from "vitest";
import { denoise } from "./denoise";
import { assertFinite } from "./finite-check";

describe("assertFinite", () => {
  it("passes finite values and names the stage, index and value otherwise", () => {
    expect(() => assertFinite(Float32Array.from([0, -1, 3e38]), "vae", "here")).not.toThrow();
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const err = (() => {
        try {
          assertFinite(Float32Array.from([1, bad]), "vae", "decoding");
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(NonFiniteError);
      expect(err).toMatchObject({ code: "non_finite", field: "vae" });
      expect((err as Error).message).toContain(`${bad} at index 1 decoding`);
    }
  });
});

describe("denoise stops at the step that diverged (issue 12, finding 8)", () => {
  it("a UNet that returns NaN on step 3 fails naming the unet and the step, not a pixel", async () => {
    const scheduler = new EulerDiscreteScheduler(parseSchedulerConfig({}).config);
    scheduler.setTimesteps(5);
    let calls = 0;
    const run = denoise({
      scheduler,
      noise: new Float32Array(16).fill(0.5),
      guidanceScale: 1,
      predictNoise: async (sample) => {
        calls++;
        return calls === 3
          ? new Float32Array(sample.length).fill(Number.NaN)
          : new Float32Array(sample.length);
      },
    });
    await expect(run).rejects.toMatchObject({ code: "non_finite", field: "unet" });
    await expect(run).rejects.toThrow(/at step 3 of 5/);
    expect(calls).toBe(3);
  });
});
