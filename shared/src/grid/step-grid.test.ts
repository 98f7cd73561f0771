import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ShapeError, ValidationError } from "../errors";
import { DENSE_REFERENCE_STEPS, DENSE_STEPS, interpolateDense, STEP_GRID } from "./step-grid";

describe("step grid constants", () => {
  it("matches SPEC §1", () => {
    expect(STEP_GRID).toEqual([1, 2, 3, 5, 9, 17, 22, 27, 33, 42, 65, 129]);
    expect(DENSE_REFERENCE_STEPS).toBe(129);
    expect(DENSE_STEPS).toBe(129);
    expect(Object.isFrozen(STEP_GRID)).toBe(true);
  });
});

describe("interpolateDense", () => {
  it("interpolates linearly over t, hand-computed", () => {
    // values = grid index k, so between grid[k] and grid[k+1] the value rises by 1.
    const values = STEP_GRID.map((_, k) => k);
    const dense = interpolateDense(values);
    expect(dense.length).toBe(129);
    expect(dense[0]).toBe(0); // t = 1
    expect(dense[2]).toBe(2); // t = 3
    expect(dense[3]).toBe(2.5); // t = 4, halfway 3 -> 5
    expect(dense[5]).toBe(3.25); // t = 6: 3 + (6-5)/(9-5)
    expect(dense[96]).toBeCloseTo(10.5, 12); // t = 97: halfway 65 -> 129
    expect(dense[128]).toBe(11); // t = 129
  });

  it("hits every grid value exactly", () => {
    const values = [0.9, 0.5, 0.4, 0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.05, 0.02, 0];
    const dense = interpolateDense(values);
    for (const [k, t] of STEP_GRID.entries()) expect(dense[t - 1]).toBe(values[k]);
  });

  it("holds end values outside a custom grid", () => {
    expect(Array.from(interpolateDense([2, 4], [2, 4], 5))).toEqual([2, 2, 3, 4, 4]);
  });

  it("reproduces any linear function of t", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -10, max: 10, noNaN: true }),
        fc.double({ min: -1, max: 1, noNaN: true }),
        (a, b) => {
          const dense = interpolateDense(STEP_GRID.map((t) => a + b * t));
          for (let i = 0; i < 129; i++) expect(dense[i]).toBeCloseTo(a + b * (i + 1), 9);
        },
      ),
    );
  });

  it("rejects bad input naming the field", () => {
    expect(() => interpolateDense([1, 2])).toThrow(ShapeError);
    expect(() => interpolateDense([1, 2])).toThrow(expect.objectContaining({ field: "values" }));
    const withNaN = STEP_GRID.map((_, k) => (k === 4 ? Number.NaN : k));
    expect(() => interpolateDense(withNaN)).toThrow(
      expect.objectContaining({ name: "ValidationError", field: "values[4]" }),
    );
    expect(() => interpolateDense([1, 2], [3, 3])).toThrow(
      expect.objectContaining({ field: "grid[1]" }),
    );
    expect(() => interpolateDense([1, 2], [1, 2], 0)).toThrow(ValidationError);
    expect(() => interpolateDense([], [])).toThrow(expect.objectContaining({ field: "grid" }));
  });
});
