import { describe, expect, it } from "vitest";
import { Adam } from "./adam";

describe("Adam (torch.optim.Adam semantics)", () => {
  it("matches two hand-computed updates (lr 1e-4, betas .9/.999, eps 1e-8)", () => {
    // Worked by hand from torch's update rule: g = 0.5 then g = -1.0 on p = 1.
    const p = new Float32Array([1]);
    const adam = new Adam(1);
    adam.update(p, new Float32Array([0.5]));
    expect(p[0]).toBeCloseTo(0.999900000002, 7);
    adam.update(p, new Float32Array([-1]));
    expect(p[0]).toBeCloseTo(0.9999366103542405, 7);
    expect(adam.step).toBe(2);
  });

  it("first step moves every parameter by about lr against its gradient's sign", () => {
    const p = new Float32Array([0, 0, 0]);
    new Adam(3, { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 }).update(
      p,
      new Float32Array([3, -0.2, 1e-3]),
    );
    expect(p[0]).toBeCloseTo(-0.01, 6);
    expect(p[1]).toBeCloseTo(0.01, 6);
    expect(p[2]).toBeCloseTo(-0.01, 4);
  });
});
