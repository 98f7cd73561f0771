/**
 * The deterministic "CLIP" of the fake GPU workers: a prompt's embedding is a seeded pseudo-random
 * vector derived from its UTF-8 bytes (FNV-1a seed, xorshift32 stream, values in [-1, 1]). The
 * fake worker serves it from /v1/embed and the global setup uses it for the reference curves, so
 * both sides agree on p̄ by construction and the parity test isolates the edge's computation.
 */
export function fakeEmbedding(text: string, width: number): Float32Array {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let s = h || 1;
  const out = new Float32Array(width);
  for (let i = 0; i < width; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 0xffffffff) * 2 - 1;
  }
  return out;
}
