/**
 * The project's one seeded-random module: uniform numbers, shuffles and standard normals drawn
 * from a pure-rand `RandomGenerator`, reproducible bit for bit on every platform.
 *
 * Streams, by generator:
 * - MT19937 (pure-rand's `mersenne`): the initial latents of every generation (SPEC §2 "Seeds":
 *   the project's own generator; it need not match torch's). The GPU worker and the dataset
 *   builder both draw them here, so a (prompt, seed) pair starts every step count from the same
 *   noise (SPEC §2 dataset protocol). New uses take this generator.
 * - splitmix32 (training's initialisation, shuffling and dropout) and mulberry32 (the mini
 *   world's constant tables and its test noise): two small generators written here as pure-rand
 *   RandomGenerators because pure-rand has neither, kept because the committed mini-world models
 *   and predictor bundle were drawn from them and a rerun must reproduce them byte for byte.
 *   The next retrain or world version can move to `mersenneRandom` by changing one call.
 *
 * Latents, fully specified so any platform can reproduce them (`seededStandardNormal`):
 * 1. Uniform bits: MT19937 (Matsumoto & Nishimura 1998) seeded with init_genrand(seed), seed an
 *    unsigned 32-bit integer — the same stream as numpy's legacy `RandomState(seed)` and C++
 *    `std::mt19937(seed)`.
 * 2. Uniform doubles: four consecutive 32-bit outputs a, b, c, d give
 *    u1 = ((a >>> 5) * 2^26 + (b >>> 6)) / 2^53 and u2 likewise from c, d (genrand_res53), in [0, 1).
 * 3. Box–Muller: r = sqrt(-2 ln(1 - u1)), theta = 2 pi u2; emit r cos(theta) then r sin(theta),
 *    each rounded to float32. 1 - u1 is in (0, 1], so the log is finite.
 * Values are written in order into the flat (row-major) array, pair by pair; an odd count drops
 * the last sin value. Only IEEE-exact operations are used apart from Math.log/cos/sin, which
 * V8 (Node, workerd, Chromium) implements with a platform-independent fdlibm port, so the bits do
 * not depend on the CPU or OS; rounding to float32 hides any last-ulp difference elsewhere.
 */
import { mersenne } from "pure-rand/generator/mersenne";
import type { RandomGenerator } from "pure-rand/types/RandomGenerator";
import { ValidationError } from "../errors";

const TWO_POW_26 = 67108864;
const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;
const MAX_SEED = 0xffff_ffff;

/** Checks that `seed` is an integer in [0, 2^32 - 1]; ValidationError naming field `seed`. */
function assertSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new ValidationError(`seed must be an integer in [0, ${MAX_SEED}], got ${seed}`, {
      field: "seed",
    });
  }
}

/** Mixes 32-bit words into one well-scrambled 32-bit seed (streams per purpose and index). */
export function deriveSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** A RandomGenerator over a 32-bit state stepped by `step` (returns the signed output). */
function stateGenerator(state: number, step: (s: number) => [number, number]): RandomGenerator {
  let s = state >>> 0;
  return {
    next() {
      const [nextState, out] = step(s);
      s = nextState;
      return out | 0;
    },
    clone: () => stateGenerator(s, step),
    getState: () => [s],
  };
}

/** splitmix32-style: a Weyl sequence through murmur3's finaliser (training's stream). */
function splitMix32(seed: number): RandomGenerator {
  return stateGenerator(seed, (s) => {
    const next = (s + 0x9e3779b9) >>> 0;
    let z = next;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return [next, z ^ (z >>> 16)];
  });
}

/** mulberry32 (Tommy Ettinger's public-domain generator; the mini world's stream). */
function mulberry32(seed: number): RandomGenerator {
  return stateGenerator(seed, (s) => {
    const next = (s + 0x6d2b79f5) >>> 0;
    let t = next;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return [next, t ^ (t >>> 14)];
  });
}

/**
 * Box–Muller pairs rounded to float32: r = sqrt(-2 ln radius()), theta = 2 pi angle(); r cos
 * then r sin. `radius` must give values in (0, 1].
 */
function boxMuller(count: number, radius: () => number, angle: () => number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(radius()));
    const theta = 2 * Math.PI * angle();
    out[i] = r * Math.cos(theta);
    if (i + 1 < count) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}

/** Uniforms, shuffles and normals from one pure-rand generator (advanced in place). */
export class SeededRandom {
  constructor(private readonly generator: RandomGenerator) {}

  /** Uniform 32-bit unsigned integer (pure-rand's outputs are signed). */
  nextU32(): number {
    return this.generator.next() >>> 0;
  }

  /** Uniform in [0, 1), a multiple of 2^-32. */
  next(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /** Uniform in [0, 1), a multiple of 2^-53 from two outputs (MT19937's genrand_res53). */
  nextDouble(): number {
    return ((this.nextU32() >>> 5) * TWO_POW_26 + (this.nextU32() >>> 6)) / TWO_POW_53;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(arr: T[] | Int32Array): void {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.nextU32() % (i + 1);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
  }

  /** `count` standard normals from 32-bit uniforms (radius from max(u, 1e-12)), float32. */
  normals(count: number): Float32Array {
    return boxMuller(
      count,
      () => Math.max(this.next(), 1e-12),
      () => this.next(),
    );
  }
}

/** MT19937 (pure-rand) for `seed` in [0, 2^32 - 1]. */
export function mersenneRandom(seed: number): SeededRandom {
  assertSeed(seed);
  return new SeededRandom(mersenne(seed));
}

/** Training's stream (parameter initialisation, shuffling, dropout); any 32-bit seed. */
export function splitMix32Random(seed: number): SeededRandom {
  return new SeededRandom(splitMix32(seed));
}

/** The mini world's stream (constant tables, test noise); any 32-bit seed. */
export function mulberry32Random(seed: number): SeededRandom {
  return new SeededRandom(mulberry32(seed));
}

/** `count` standard-normal float32 draws for `seed` (see the module header for the algorithm). */
export function seededStandardNormal(seed: number, count: number): Float32Array {
  assertSeed(seed);
  if (!Number.isInteger(count) || count < 0) {
    throw new ValidationError(`count must be a non-negative integer, got ${count}`, {
      field: "count",
    });
  }
  const rng = mersenneRandom(seed);
  return boxMuller(
    count,
    () => 1 - rng.nextDouble(),
    () => rng.nextDouble(),
  );
}

/**
 * Initial latent draw `[B, C, h, w]` (before init_noise_sigma) for one seed: the whole batch comes
 * from one stream, image b taking values [b*C*h*w, (b+1)*C*h*w).
 */
export function seededLatents(seed: number, shape: readonly number[]): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  return seededStandardNormal(seed, count);
}
