import { describe, expect, it } from "vitest";
import { backoffDelayMs, retryAfterMs } from "./backoff";

describe("backoffDelayMs", () => {
  const exact = { baseMs: 250, maxMs: 5_000, jitter: false };

  it("doubles from the base per consecutive failure and stops at the cap", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelayMs(exact, n))).toEqual([
      250, 500, 1000, 2000, 4000, 5000, 5000,
    ]);
  });

  it("treats 0, negative and huge failure counts as the first failure or the cap", () => {
    expect(backoffDelayMs(exact, 0)).toBe(250);
    expect(backoffDelayMs(exact, -3)).toBe(250);
    expect(backoffDelayMs(exact, 5000)).toBe(5000);
  });

  it("jitters each delay into [half, full) of the exact delay", () => {
    const jittered = { baseMs: 1000, maxMs: 60_000 };
    expect(backoffDelayMs(jittered, 3, () => 0)).toBe(2000);
    expect(backoffDelayMs(jittered, 3, () => 0.5)).toBe(3000);
    expect(backoffDelayMs(jittered, 3, () => 0.999999)).toBe(4000);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelayMs(jittered, 4);
      expect(d).toBeGreaterThanOrEqual(4000);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });
});

describe("retryAfterMs", () => {
  const now = Date.parse("2026-12-01T10:00:00Z");

  it("reads delay-seconds", () => {
    expect(retryAfterMs("30", now)).toBe(30_000);
    expect(retryAfterMs(" 0 ", now)).toBe(0);
  });

  it("reads an HTTP-date relative to now, a past date as 0", () => {
    expect(retryAfterMs("Tue, 01 Dec 2026 10:00:12 GMT", now)).toBe(12_000);
    expect(retryAfterMs("Tue, 01 Dec 2026 09:00:00 GMT", now)).toBe(0);
  });

  it("is undefined when absent or unreadable", () => {
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
    expect(retryAfterMs("", now)).toBeUndefined();
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs("-5", now)).toBeUndefined();
    expect(retryAfterMs("1.5", now)).toBeUndefined();
  });
});
