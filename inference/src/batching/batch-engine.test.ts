/**
 * The batching engine's scheduling against a fake model (real trajectories and Euler scheduler,
 * a noise "prediction" that only depends on each row): join at step boundaries, leave when done,
 * per-call limits, size groups, CFG pairs, cancellation at the next boundary, progress with the
 * ETA from the measured step time, and the static policy's whole-batch answers.
 */
import { EulerDiscreteScheduler } from "@budgetfusion/shared/schedulers/euler-discrete";
import { describe, expect, it } from "vitest";
import { CancelledError } from "../pipeline/cancel";
import { RunTimer } from "../pipeline/components/run-timer";
import { DenoisingTrajectory } from "../pipeline/denoise";
import type { GenerateOptions, GenerateResult, PreparedGeneration } from "../pipeline/sd-pipeline";
import { BatchEngine, type BatchModel, type StepProgress } from "./batch-engine";

const SCHEDULER = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: "scaled_linear",
  prediction_type: "epsilon",
  timestep_spacing: "trailing",
};

interface Call {
  rows: number;
  h: number;
  timesteps: number[];
  /** The first value of each row: which request (and CFG half) a row belongs to. */
  tags: number[];
}

/** Each request's noise is filled with its seed, so a row's first value names its request. */
function fakeModel(calls: Call[], callMs = 2): BatchModel {
  return {
    modelId: "fake",
    defaultSize: 16,
    schedulerConfig: SCHEDULER,
    perRowTimesteps: true,
    async prepare(o: GenerateOptions): Promise<PreparedGeneration> {
      const scheduler = EulerDiscreteScheduler.fromConfig(SCHEDULER);
      scheduler.setTimesteps(o.steps);
      const latentDims = [o.prompts.length, 1, o.height / 8, o.width / 8];
      const n = latentDims.reduce((a, b) => a * b, 1);
      const rows = o.prompts.length * (o.guidanceScale > 1 ? 2 : 1);
      return {
        trajectory: new DenoisingTrajectory({
          scheduler,
          noise: new Float32Array(n).fill(o.seed ?? 0),
          guidanceScale: o.guidanceScale,
        }),
        embeds: { data: new Float32Array(rows * 2).fill(o.seed ?? 0), dims: [rows, 2, 1] },
        latentDims,
        seed: o.seed ?? 0,
        signal: o.signal,
        start: performance.now(),
        textTimer: new RunTimer(),
        unetTimer: new RunTimer(),
      };
    },
    async predictNoise(sample, dims, timestep, embeds, timer) {
      calls.push({
        rows: dims[0],
        h: dims[2],
        timesteps: typeof timestep === "number" ? [timestep] : Array.from(timestep),
        tags: Array.from({ length: dims[0] }, (_, r) => embeds.data[r * 2]),
      });
      return timer.time(async () => {
        await new Promise((r) => setTimeout(r, callMs));
        return sample.map((v) => 0.1 * v);
      });
    },
    async finish(p): Promise<GenerateResult> {
      const latents = p.trajectory.result;
      return {
        promptEmbeds: p.embeds.data,
        promptEmbedsDims: p.embeds.dims,
        latents,
        latentDims: p.latentDims,
        image: latents,
        imageDims: p.latentDims,
        seed: p.seed,
        timings: { textMs: 0, unetMs: p.unetTimer.ms, vaeMs: 0, ortMs: 0, totalMs: 0 },
      };
    },
  };
}

const request = (seed: number, steps: number, extra: Partial<GenerateOptions> = {}) =>
  ({
    prompts: ["p"],
    steps,
    guidanceScale: 1,
    height: 16,
    width: 16,
    seed,
    ...extra,
  }) satisfies GenerateOptions;

const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 1));
};

describe("BatchEngine", () => {
  it("joins at a step boundary and leaves when its last step is done", async () => {
    const calls: Call[] = [];
    const engine = new BatchEngine(fakeModel(calls), {
      limits: { maxSamples: 8, maxPixels: 1e9 },
    });
    const a = engine.submit(request(1, 6));
    await until(() => calls.length >= 2);
    const b = engine.submit(request(2, 2));
    await Promise.all([a, b]);
    const withB = calls.filter((c) => c.tags.includes(2));
    expect(withB.length).toBe(2);
    expect(withB.every((c) => c.rows === 2 && c.tags.includes(1))).toBe(true);
    expect(calls[0].tags).toEqual([1]);
    expect(calls.at(-1)?.tags).toEqual([1]);
    // Every step of A ran exactly once: 6 calls with A, of which two shared with B.
    expect(calls.filter((c) => c.tags.includes(1)).length).toBe(6);
    expect(calls.length).toBe(6);
  });

  it("keeps a CFG pair in one call and never exceeds the sample limit", async () => {
    const calls: Call[] = [];
    const engine = new BatchEngine(fakeModel(calls), {
      limits: { maxSamples: 4, maxPixels: 1e9 },
    });
    const cfg = { guidanceScale: 7.5 };
    await Promise.all([
      engine.submit(request(1, 3, cfg)),
      engine.submit(request(2, 3, cfg)),
      engine.submit(request(3, 3, cfg)),
      // Two prompts with CFG: 4 rows, alone at the limit.
      engine.submit(request(4, 2, { ...cfg, prompts: ["a", "b"] })),
    ]);
    for (const c of calls) {
      expect(c.rows).toBeLessThanOrEqual(4);
      for (const tag of new Set(c.tags)) {
        const n = c.tags.filter((t) => t === tag).length;
        expect(n).toBe(tag === 4 ? 4 : 2);
      }
    }
    // Request 3 waited for 1 and 2 to leave, and 4 for a place of 4 rows.
    expect(calls.slice(0, 3).every((c) => c.tags.join() === "1,1,2,2")).toBe(true);
  });

  it("runs different sizes in separate calls, bounded by pixels per call", async () => {
    const calls: Call[] = [];
    const engine = new BatchEngine(fakeModel(calls), {
      limits: { maxSamples: 16, maxPixels: 2 * 16 * 16 },
    });
    await Promise.all([
      engine.submit(request(1, 2)),
      engine.submit(request(2, 2)),
      engine.submit(request(3, 2)),
      engine.submit(request(4, 2, { height: 32, width: 32 })),
    ]);
    for (const c of calls)
      expect(new Set(c.tags.map((t) => (t === 4 ? "big" : "small"))).size).toBe(1);
    expect(calls.filter((c) => c.h === 4).every((c) => c.rows === 1)).toBe(true);
    expect(Math.max(...calls.filter((c) => c.h === 2).map((c) => c.rows))).toBe(2);
  });

  it("a request the limits cannot hold runs alone instead of waiting forever", async () => {
    const calls: Call[] = [];
    const engine = new BatchEngine(fakeModel(calls), { limits: { maxSamples: 1, maxPixels: 1 } });
    await engine.submit(request(1, 2, { guidanceScale: 7.5 }));
    expect(calls.map((c) => c.rows)).toEqual([2, 2]);
  });

  it("cancels a running request at the next step boundary; the others go on", async () => {
    const calls: Call[] = [];
    const engine = new BatchEngine(fakeModel(calls), { limits: { maxSamples: 8, maxPixels: 1e9 } });
    const controller = new AbortController();
    const a = engine.submit(request(1, 20, { signal: controller.signal }));
    const b = engine.submit(request(2, 8));
    await until(() => calls.length >= 3);
    controller.abort();
    const seenAtAbort = calls.length;
    await expect(a).rejects.toBeInstanceOf(CancelledError);
    await b;
    // At most the call in flight at the abort still carried A.
    expect(calls.filter((c) => c.tags.includes(1)).length).toBeLessThanOrEqual(seenAtAbort + 1);
    expect(calls.filter((c) => c.tags.includes(2)).length).toBe(8);
    expect(engine.runningCount).toBe(0);
  });

  it("reports every step with the ETA from the measured step time at its batch size", async () => {
    const calls: Call[] = [];
    const engine = new BatchEngine(fakeModel(calls, 4), {
      limits: { maxSamples: 8, maxPixels: 1e9 },
    });
    const seen: { p: StepProgress; stepMs: number | undefined }[] = [];
    await engine.submit(request(1, 5), {
      onProgress: (p) => seen.push({ p, stepMs: engine.stepMs(p.batchSize) }),
    });
    expect(seen.map((s) => s.p.step)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(seen.every((s) => s.p.steps === 5 && s.p.batchSize === 1)).toBe(true);
    for (const { p, stepMs } of seen.slice(1)) {
      // The fake call sleeps 4 ms on Node's millisecond timers, which performance.now() can see
      // end a fraction of a millisecond early (3.72 ms was measured on CI).
      expect(stepMs).toBeGreaterThanOrEqual(3);
      expect(p.etaMs).toBeCloseTo((5 - p.step) * (stepMs ?? 0), 6);
    }
    const elapsed = seen.map((s) => s.p.elapsedMs);
    expect([...elapsed].sort((x, y) => x - y)).toEqual(elapsed);
  });

  it("static policy: no joining a running batch, answers when the longest member is done", async () => {
    const calls: Call[] = [];
    const engine = new BatchEngine(fakeModel(calls), {
      limits: { maxSamples: 8, maxPixels: 1e9 },
      policy: "static",
    });
    const done: number[] = [];
    const a = engine.submit(request(1, 6)).then(() => done.push(1));
    const b = engine.submit(request(2, 2)).then(() => done.push(2));
    await until(() => calls.length >= 1);
    const c = engine.submit(request(3, 2)).then(() => done.push(3));
    await Promise.all([a, b, c]);
    expect(calls.slice(0, 6).every((x) => !x.tags.includes(3))).toBe(true);
    expect(calls.slice(6).map((x) => x.tags)).toEqual([[3], [3]]);
    expect(done.slice(0, 2).sort()).toEqual([1, 2]);
  });
});
