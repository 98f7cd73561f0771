/**
 * PNG encoding for answers, off the HTTP thread: deflating a large image takes tens to hundreds
 * of ms, and on the main thread it would stall every other request's progress, /healthz and the
 * batching loop (measured in test/integration/event-loop.test.ts). The cheap, exact half
 * (quantising floats to 8 bits) stays here; the deflate runs on a tinypool thread.
 */
import { batchImage, encodeImagePng, quantizeRgb8 } from "@budgetfusion/shared/image/png-image";
import Tinypool from "tinypool";

export interface PngEncoder {
  /** PNG bytes of image `index` of a [B,H,W,3] float batch in [0, 1]. */
  encode(images: Float32Array, dims: readonly number[], index: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** On the calling thread: tests, the CLI. */
export const inlinePngEncoder: PngEncoder = {
  encode: async (images, dims, index) => encodeImagePng(images, dims, index),
  close: async () => {},
};

export class ThreadPngEncoder implements PngEncoder {
  private readonly pool: Tinypool;

  constructor(threads = 1) {
    this.pool = new Tinypool({
      filename: new URL("./png-thread-body.mjs", import.meta.url).href,
      minThreads: 0,
      maxThreads: threads,
      // An idle worker lets its thread go, so an idle process can exit.
      idleTimeout: 10_000,
    });
  }

  async encode(images: Float32Array, dims: readonly number[], index: number): Promise<Uint8Array> {
    const rgb8 = quantizeRgb8(batchImage(images, dims, index));
    const png: Uint8Array = await this.pool.run(rgb8, {
      transferList: [rgb8.data.buffer as ArrayBuffer],
    });
    return png;
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
