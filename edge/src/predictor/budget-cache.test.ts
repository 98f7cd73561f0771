import { describe, expect, it } from "vitest";
import { usesCacheApi } from "./budget-cache";

describe("usesCacheApi", () => {
  const encoderHere = { textEmbedder: {} as never, form: "distilled" as const };
  const distilled = { textEmbedder: undefined, form: "distilled" as const };
  const exact = { textEmbedder: undefined, form: "exact" as const };
  const teacher = { textEmbedder: undefined, form: "teacher" as const };

  it("auto: only where a miss recomputes more than a lookup costs", () => {
    expect(usesCacheApi("auto", distilled)).toBe(false);
    expect(usesCacheApi("auto", encoderHere)).toBe(true);
    expect(usesCacheApi("auto", exact)).toBe(true);
    expect(usesCacheApi("auto", teacher)).toBe(true);
  });

  it("always and never override the cost rule", () => {
    for (const p of [distilled, encoderHere, exact, teacher]) {
      expect(usesCacheApi("always", p)).toBe(true);
      expect(usesCacheApi("never", p)).toBe(false);
    }
  });
});
