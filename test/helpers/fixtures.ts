/**
 * Reader for the reference fixtures in ../shared/fixtures: raw little-endian float32 `.bin`
 * files described by `{file, dtype, shape}` entries. Tests only: nothing users run reads ../shared.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const WORKSPACE_SHARED = resolve(dirname(fileURLToPath(import.meta.url)), "../../../shared");
export const FIXTURES = join(WORKSPACE_SHARED, "fixtures");

export interface ArrayRef {
  file: string;
  dtype?: string;
  shape: number[];
}

export interface LoadedArray {
  data: Float32Array;
  shape: number[];
}

export function fixturePath(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}

export function readJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(fixturePath(...parts), "utf8")) as T;
}

/** Reads a float32 array; copies out of Node's pooled Buffer so byteOffset never matters. */
export function readF32(dir: string, ref: ArrayRef): LoadedArray {
  if (ref.dtype !== undefined && ref.dtype !== "float32") {
    throw new Error(`${ref.file}: dtype ${ref.dtype} is not float32`);
  }
  const buf = readFileSync(join(dir, ref.file));
  const expected = ref.shape.reduce((a, b) => a * b, 1);
  if (buf.byteLength !== expected * 4) {
    throw new Error(
      `${ref.file}: ${buf.byteLength} bytes, shape ${ref.shape} needs ${expected * 4}`,
    );
  }
  const data = new Float32Array(expected);
  new Uint8Array(data.buffer).set(buf);
  return { data, shape: ref.shape };
}

/** max |a - b| */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** max |a - b| / max(|b|, floor): relative error with an absolute floor for values near 0. */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++)
    m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor));
  return m;
}

/** max |a - b| / max |b|: error relative to the reference array's scale (tensor comparisons). */
export function maxScaledDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  return maxAbsDiff(a, b) / Math.max(scale, Number.MIN_VALUE);
}
