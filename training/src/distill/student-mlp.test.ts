import { describe, expect, it } from "vitest";
import {
  createStudent,
  type StudentTraining,
  studentLearningRate,
  studentLossAndGradient,
  studentPredict,
  trainStudent,
} from "./student-mlp";

const opts: StudentTraining = {
  epochs: 1,
  batch: 8,
  lr: 1e-2,
  diffWeight: 5,
  stepStride: 3,
  seed: 1,
};

function inputs(n: number, d: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n * d }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 30 - 1;
  });
}

describe("student MLP", () => {
  it("has the gradient of its loss (central differences, float64-free tolerance)", () => {
    const [D, S, O, n] = [5, 4, 9, 3];
    const s = createStudent(D, S, O, new Float32Array(O).fill(0.3), 11);
    // Non-zero second layer so every path carries gradient.
    for (let i = 0; i < s.w2.length; i++) s.w2[i] = Math.sin(i + 1) * 0.5;
    const x = inputs(n, D, 3);
    const y = inputs(n, O, 5).map((v) => 0.5 + 0.3 * v);
    const grad = new Float32Array(s.flat.length);
    studentLossAndGradient(s, x, y, n, opts, grad);
    const scratch = new Float32Array(s.flat.length);
    const h = 1e-3;
    for (let i = 0; i < s.flat.length; i++) {
      const keep = s.flat[i];
      s.flat[i] = keep + h;
      const up = studentLossAndGradient(s, x, y, n, opts, scratch);
      s.flat[i] = keep - h;
      const down = studentLossAndGradient(s, x, y, n, opts, scratch);
      s.flat[i] = keep;
      expect(Math.abs((up - down) / (2 * h) - grad[i])).toBeLessThan(2e-3);
    }
  });

  it.each([
    ["a constant", undefined],
    ["a cosine-decayed", "cosine"],
  ] as const)(
    "learns a target another MLP of its shape produces, at %s learning rate",
    (_, lrSchedule) => {
      const [D, S, O, n] = [8, 16, 12, 256];
      const x = inputs(n, D, 9);
      const target = createStudent(D, S, O, new Float32Array(O).fill(0.5), 21);
      for (let i = 0; i < target.w2.length; i++) target.w2[i] *= 10;
      const y = studentPredict(target, x, n);
      const s = createStudent(D, S, O, new Float32Array(O).fill(0.5), 22);
      const mse = () => {
        const out = studentPredict(s, x, n);
        return out.reduce((acc, v, i) => acc + (v - y[i]) ** 2, 0) / out.length;
      };
      const before = mse();
      trainStudent(s, x, y, n, { ...opts, epochs: 60, diffWeight: 0, lrSchedule });
      expect(mse()).toBeLessThan(before / 20);
    },
  );

  it("decays the learning rate over half a cosine when asked, and keeps it constant otherwise", () => {
    const cosine = { ...opts, epochs: 10, lr: 0.02, lrSchedule: "cosine" as const };
    expect(studentLearningRate(cosine, 1)).toBeCloseTo(0.02, 12);
    expect(studentLearningRate(cosine, 6)).toBeCloseTo(0.01, 12);
    expect(studentLearningRate(cosine, 10)).toBeCloseTo(0.01 * (1 + Math.cos(0.9 * Math.PI)), 12);
    const rates = Array.from({ length: 10 }, (_, e) => studentLearningRate(cosine, e + 1));
    for (let e = 1; e < 10; e++) expect(rates[e]).toBeLessThan(rates[e - 1]);
    expect(studentLearningRate({ ...opts, lr: 0.02 }, 10)).toBe(0.02);
  });

  it("clips predictions to [0, 1] like the exported graph", () => {
    const s = createStudent(2, 2, 3, Float32Array.of(-1, 0.5, 2), 1);
    s.w2.fill(0);
    expect(Array.from(studentPredict(s, Float32Array.of(0.1, 0.2), 1))).toEqual([0, 0.5, 1]);
  });
});
