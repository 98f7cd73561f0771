import { mersenne } from "pure-rand/generator/mersenne";
import { describe, expect, it } from "vitest";
import {
  deriveSeed,
  mersenneRandom,
  mulberry32Random,
  seededLatents,
  seededStandardNormal,
  splitMix32Random,
} from "./seeded-random";

describe("seeded standard normal", () => {
  it("uses the MT19937 init_genrand stream (published reference outputs)", () => {
    // std::mt19937 default seed 5489: first output 3499211612 (C++ standard, [rand.predef]).
    expect(mersenne(5489).next() >>> 0).toBe(3499211612);
    // numpy.random.RandomState(0) raw 32-bit outputs.
    const rng = mersenne(0);
    expect([0, 1, 2, 3].map(() => rng.next() >>> 0)).toEqual([
      2357136044, 2546248239, 3071714933, 3626093760,
    ]);
  });

  it("matches an independent numpy implementation of the documented Box-Muller recipe", () => {
    // Computed with numpy (RandomState(seed).randint raw uint32 -> res53 -> Box-Muller -> float32).
    expect(Array.from(seededStandardNormal(0, 6))).toEqual([
      -0.2737542390823364, -1.2315874099731445, -1.3051633834838867, -0.3781464099884033,
      -0.6387645602226257, -0.8331127166748047,
    ]);
    expect(Array.from(seededStandardNormal(7, 5))).toEqual([
      0.07446035742759705, -0.39141982793807983, -0.17826999723911285, -1.0593316555023193,
      -2.6822714805603027,
    ]);
  });

  it("has standard-normal moments", () => {
    const x = seededStandardNormal(1, 200_000);
    let s = 0;
    let s2 = 0;
    for (const v of x) {
      s += v;
      s2 += v * v;
    }
    const mean = s / x.length;
    // 200k draws: standard error of the mean 0.0022, of the std ~0.0016.
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(Math.sqrt(s2 / x.length - mean * mean) - 1)).toBeLessThan(0.01);
  });

  it("is a prefix-stable stream: the batch is one draw", () => {
    const latents = seededLatents(3, [2, 4, 8, 8]);
    expect(latents.length).toBe(512);
    expect(Array.from(latents.subarray(0, 100))).toEqual(Array.from(seededStandardNormal(3, 100)));
  });

  it("rejects bad seeds naming the field", () => {
    expect(() => seededStandardNormal(-1, 4)).toThrow(/seed/);
    expect(() => seededStandardNormal(2 ** 32, 4)).toThrow(/seed/);
    expect(() => seededStandardNormal(1.5, 4)).toThrow(/seed/);
  });
});

// Values printed by the hand-written generators these streams replaced (training/src/model/rng.ts
// and the mini world's world-spec.ts before the move): the committed models and bundle depend on
// them bit for bit.
describe("the training and mini-world streams", () => {
  it("splitmix32 gives training's former outputs and shuffles", () => {
    const r = splitMix32Random(1);
    expect([0, 1, 2, 3].map(() => r.nextU32())).toEqual([
      2527132011, 314344336, 2535364964, 2041432039,
    ]);
    const arr = [0, 1, 2, 3, 4, 5, 6, 7];
    splitMix32Random(5).shuffle(arr);
    expect(arr).toEqual([5, 3, 7, 4, 6, 2, 0, 1]);
  });

  it("mulberry32 gives the world's former uniforms and normals", () => {
    const m = mulberry32Random(1);
    expect([0, 1, 2, 3].map(() => m.next() * 2 ** 32)).toEqual([
      2693262067, 11749833, 2265367787, 4213581821,
    ]);
    expect(Array.from(mulberry32Random(7).normals(3))).toEqual([
      2.7593729496002197, 1.1319811344146729, -0.06805135309696198,
    ]);
  });

  it("streams are independent per seed and uniforms stay in [0, 1)", () => {
    for (const make of [mersenneRandom, splitMix32Random, mulberry32Random]) {
      const a = make(deriveSeed(1, 2));
      const b = make(deriveSeed(1, 3));
      const xs = Array.from({ length: 1000 }, () => a.next());
      expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
      expect(xs.slice(0, 8)).not.toEqual(Array.from({ length: 8 }, () => b.next()));
      const u = a.uniform(-2, 3);
      expect(u >= -2 && u < 3).toBe(true);
    }
  });
});
