import { describe, expect, it } from "vitest";
import { progressFraction, progressText, shareOfCompute } from "./page-format";

describe("page-format", () => {
  it("progress is the step share when reported, 1 when done, unknown otherwise", () => {
    expect(progressFraction({ status: "running", progress: { step: 3, steps: 12 } })).toBe(0.25);
    expect(progressFraction({ status: "succeeded" })).toBe(1);
    expect(progressFraction({ status: "queued" })).toBeUndefined();
    expect(
      progressFraction({ status: "running", progress: { step: 3, steps: 0 } }),
    ).toBeUndefined();
  });

  it("writes the state with elapsed time, or the step and ETA when reported", () => {
    expect(progressText({ status: "queued" }, 400)).toBe("queued · 0.4 s");
    expect(
      progressText({ status: "running", progress: { step: 12, steps: 17, eta_ms: 300 } }, 0),
    ).toBe("step 12 of 17 · about 0.3 s left");
    expect(progressText({ status: "succeeded" }, 0)).toBe("done");
    expect(progressText({ status: "failed" }, 0)).toBe("failed");
    expect(progressText({ status: "canceled" }, 0)).toBe("canceled");
    // A queued job's progress (step 0, no ETA) says no more than its state.
    expect(progressText({ status: "queued", progress: { step: 0, steps: 17 } }, 400)).toBe(
      "queued · 0.4 s",
    );
  });

  it("share of compute is relative to the reference image's compute", () => {
    expect(shareOfCompute(26, 100, 65)).toBe("26 % of the 65-step compute");
    expect(shareOfCompute(26, 0, 65)).toBe("");
  });

  it("each function refers to nothing outside its body (the page embeds their source)", () => {
    for (const fn of [progressFraction, progressText, shareOfCompute]) {
      expect(() => new Function(`return ${fn.toString()}`)()).not.toThrow();
    }
    const text = new Function(`return ${progressText.toString()}`)() as typeof progressText;
    expect(text({ status: "queued" }, 400)).toBe("queued · 0.4 s");
  });
});
