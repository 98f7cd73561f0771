/**
 * Request bodies that report how they are read, for the body-limit tests of both apps (they run
 * in Node and inside workerd alike: web streams only).
 */

/** Bytes per pull: small, so "read about as far as the limit" is measurable. */
export const CHUNK_BYTES = 1024;

export const HUNDRED_MB = 100 * 1024 * 1024;

/** A lazily produced body of `total` bytes that counts how much of it was pulled. */
export function countingBody(total: number) {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pulled >= total) return controller.close();
        const n = Math.min(CHUNK_BYTES, total - pulled);
        pulled += n;
        controller.enqueue(new Uint8Array(n).fill(0x20));
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => pulled };
}

/** A body that fails the request if anything reads it. */
export function unreadableBody() {
  return new ReadableStream<Uint8Array>({
    pull() {
      throw new Error("the body was read");
    },
  });
}
