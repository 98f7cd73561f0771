/**
 * Fakes for the GPU worker's app tests: a generator whose calls can be held open and that honours
 * the abort signal like the real pipeline (checked between "steps").
 */

import type { ImageGenerator, WorkerDeps } from "@budgetfusion/gpu-worker/app";
import { createMetrics } from "@budgetfusion/gpu-worker/metrics";
import { JobQueue } from "@budgetfusion/gpu-worker/queue/job-queue";
import type { GenerateOptions } from "@budgetfusion/inference/pipeline/sd-pipeline";

export class FakeGenerator implements ImageGenerator {
  readonly modelId = "fake-sd";
  readonly defaultSize = 64;
  readonly schedulerConfig = { prediction_type: "v_prediction", steps_offset: 1 };
  readonly calls: GenerateOptions[] = [];
  readonly aborted: GenerateOptions[] = [];
  /** While set, generate() waits for it before finishing. */
  hold: Promise<void> | undefined;
  private releaseHold: (() => void) | undefined;

  block(): void {
    this.hold = new Promise((r) => {
      this.releaseHold = r;
    });
  }

  release(): void {
    this.releaseHold?.();
    this.hold = undefined;
  }

  async generate(opts: GenerateOptions) {
    this.calls.push(opts);
    const hold = this.hold;
    if (hold) {
      await Promise.race([
        hold,
        new Promise<void>((resolve) => opts.signal?.addEventListener("abort", () => resolve())),
      ]);
    }
    if (opts.signal?.aborted) {
      this.aborted.push(opts);
      throw opts.signal.reason;
    }
    for (let i = 0; i < opts.steps; i++) opts.onStep?.(i, 1);
    const b = opts.prompts.length;
    // Image b is filled with the value b / 8, so tests can tell the batch's images apart.
    const per = opts.height * opts.width * 3;
    const image = new Float32Array(b * per);
    for (let n = 0; n < b; n++) image.fill(n / 8, n * per, (n + 1) * per);
    return {
      image,
      imageDims: [b, opts.height, opts.width, 3],
      seed: opts.seed ?? null,
      timings: { textMs: 1, unetMs: 2, vaeMs: 3, ortMs: 6, totalMs: 7 },
    };
  }
}

export function fakeDeps(
  over: { concurrency?: number; queueLimit?: number; timeoutMs?: number } = {},
): WorkerDeps & { generator: FakeGenerator } {
  const generator = new FakeGenerator();
  const queue = new JobQueue({
    concurrency: over.concurrency ?? 1,
    queueLimit: over.queueLimit ?? 4,
    initialJobSeconds: 2,
  });
  return {
    generator,
    state: { generator, embedConfigured: false, runtime: "fake" },
    queue,
    metrics: createMetrics(queue),
    requestTimeoutMs: over.timeoutMs ?? 10_000,
    randomSeed: () => 1234,
    log: () => {},
  };
}

export function postJson(
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
) {
  return new Request("http://worker/v1/generate", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal,
  });
}

/** Resolves once `cond` holds (polling the event loop), for ordering concurrent requests. */
export async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 1));
  }
}
