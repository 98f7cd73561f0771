/**
 * Seeded standard-normal noise for the initial latents (SPEC §2 "Seeds": the project's own
 * generator; it need not match torch's). Used by the GPU worker and by the dataset builder, so a
 * (prompt, seed) pair starts every step count from the same noise (SPEC §2 dataset protocol).
 *
 * Generator, fully specified so any platform can reproduce it bit for bit:
 * 1. Uniform bits: MT19937 (Matsumoto & Nishimura 1998) seeded with init_genrand(seed), seed an
 *    unsigned 32-bit integer — pure-rand's `mersenne`. It is the same stream as numpy's legacy
 *    `RandomState(seed)` and C++ `std::mt19937(seed)`.
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
import { ValidationError } from "../errors";

const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;
const MAX_SEED = 0xffff_ffff;

/** Checks that `seed` is an integer in [0, 2^32 - 1]; ValidationError naming field `seed`. */
export function assertSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new ValidationError(`seed must be an integer in [0, ${MAX_SEED}], got ${seed}`, {
      field: "seed",
    });
  }
}

/** `count` standard-normal float32 draws for `seed` (see the module header for the algorithm). */
export function seededStandardNormal(seed: number, count: number): Float32Array {
  assertSeed(seed);
  if (!Number.isInteger(count) || count < 0) {
    throw new ValidationError(`count must be a non-negative integer, got ${count}`, {
      field: "count",
    });
  }
  const rng = mersenne(seed);
  // pure-rand returns signed 32-bit values; >>> 0 gives the unsigned MT19937 output.
  const next = () => rng.next() >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u1 = ((next() >>> 5) * TWO_POW_26 + (next() >>> 6)) / TWO_POW_53;
    const u2 = ((next() >>> 5) * TWO_POW_26 + (next() >>> 6)) / TWO_POW_53;
    const r = Math.sqrt(-2 * Math.log(1 - u1));
    const theta = 2 * Math.PI * u2;
    out[i] = r * Math.cos(theta);
    if (i + 1 < count) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}

/**
 * Initial latent draw `[B, C, h, w]` (before init_noise_sigma) for one seed: the whole batch comes
 * from one stream, image b taking values [b*C*h*w, (b+1)*C*h*w).
 */
export function seededLatents(seed: number, shape: readonly number[]): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  return seededStandardNormal(seed, count);
}
