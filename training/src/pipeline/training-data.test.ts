import { DENSE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import { describe, expect, it } from "vitest";
import { selectRows, validationSplit } from "./training-data";

describe("validationSplit", () => {
  it("holds out every 10th training prompt when there are at least 10", () => {
    const s = validationSplit(25);
    expect(s.validation).toEqual([9, 19]);
    expect(s.train).toHaveLength(23);
    expect(s.train).not.toContain(9);
    expect(s.train).not.toContain(19);
  });

  it("has no validation prompts below 10", () => {
    expect(validationSplit(9)).toEqual({ train: [0, 1, 2, 3, 4, 5, 6, 7, 8], validation: [] });
  });
});

describe("selectRows", () => {
  it("picks ids, embeddings and every metric's dense targets of the chosen rows, in order", () => {
    const width = 2;
    const n = 3;
    const rows = {
      ids: [10, 11, 12],
      embeddings: Float32Array.from({ length: n * width }, (_, i) => i),
      targets: {
        lsnr: Float32Array.from({ length: n * DENSE_STEPS }, (_, i) => i),
        dsim: Float32Array.from({ length: n * DENSE_STEPS }, (_, i) => -i),
        iclip: Float32Array.from({ length: n * DENSE_STEPS }, (_, i) => 2 * i),
      },
    };
    const s = selectRows(rows, [2, 0], width);
    expect(s.ids).toEqual([12, 10]);
    expect(Array.from(s.embeddings)).toEqual([4, 5, 0, 1]);
    expect(s.targets.lsnr[0]).toBe(2 * DENSE_STEPS);
    expect(s.targets.dsim[DENSE_STEPS]).toBe(-0);
    expect(s.targets.iclip[DENSE_STEPS + 1]).toBe(2);
  });
});
