/**
 * Serving policies under one open-loop load (issue 13's benchmark): requests arrive as a Poisson
 * process and ask for the step counts the committed bundle chose (its t* over the held-out
 * prompts, reports/mini-world-v2/evaluation.json). The same arrival trace is served three ways, in
 * this process, on one model:
 *   sequential  the worker before batching: one SdPipeline.generate() at a time, FIFO;
 *   static      a batch forms only when nothing runs; its members are answered when the longest
 *               is done (BatchEngine policy "static");
 *   continuous  requests join and leave the running batch at step boundaries (BatchEngine).
 * The arrival rate is `load` x the sequential capacity measured first (requests of the trace's
 * mean steps), so sequential is saturated and the ratios compare capacities and tail latencies.
 */
import { readFileSync } from "node:fs";
import { BatchEngine, type BatchLimits } from "@budgetfusion/inference/batching/batch-engine";
import { RunTimer } from "@budgetfusion/inference/pipeline/components/run-timer";
import type { GenerateOptions, SdPipeline } from "@budgetfusion/inference/pipeline/sd-pipeline";
import { mersenneRandom } from "@budgetfusion/shared/random/seeded-random";

export type Policy = "sequential" | "static" | "continuous";
export const POLICIES: readonly Policy[] = ["sequential", "static", "continuous"];

export interface Arrival {
  atMs: number;
  steps: number;
  prompt: string;
  seed: number;
}

export interface PolicyResult {
  policy: Policy;
  imagesPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** Mean requests per UNet call (1 for sequential). */
  meanBatch: number;
  wallS: number;
  /**
   * Continuous only: |ETA error| / actual remaining time of the ETA each request reported when
   * half its steps were done (p50 and p90 over requests).
   */
  etaError?: { p50: number; p90: number };
}

export interface WorkloadSettings {
  requests: number;
  /** Arrival rate over the sequential capacity. */
  load: number;
  /** Requests per UNet call at most (continuous and static). */
  maxBatch: number;
  size: number;
  guidanceScale: number;
  seed: number;
}

const PROMPTS = [
  "a plain white wall",
  "a red ball on a white floor",
  "a detailed forest with leaves",
  "a busy city street at night",
  "a colorful park with a crowd",
  "two dogs on a sandy beach",
];

/** The bundle's t* per held-out prompt, from its evaluation report. */
export function heldOutBudgets(evaluationPath: string): number[] {
  const report = JSON.parse(readFileSync(evaluationPath, "utf8")) as {
    t_star: { per_prompt: { t_star: number }[] };
  };
  const steps = report.t_star.per_prompt.map((p) => p.t_star);
  if (steps.length === 0) throw new Error(`${evaluationPath}: t_star.per_prompt is empty`);
  return steps;
}

/** `n` arrivals at `ratePerS` (exponential gaps), steps drawn from `budgets`, seeded. */
export function poissonArrivals(
  n: number,
  ratePerS: number,
  budgets: readonly number[],
  seed: number,
): Arrival[] {
  const rand = mersenneRandom(seed);
  let at = 0;
  return Array.from({ length: n }, (_, i) => {
    const arrival = {
      atMs: at,
      steps: budgets[rand.nextU32() % budgets.length],
      prompt: PROMPTS[i % PROMPTS.length],
      seed: rand.nextU32(),
    };
    at += (-Math.log(1 - rand.next()) / ratePerS) * 1000;
    return arrival;
  });
}

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

const sleepUntil = (t0: number, atMs: number) =>
  new Promise((r) => setTimeout(r, Math.max(0, t0 + atMs - performance.now())));

function options(a: Arrival, w: WorkloadSettings): GenerateOptions {
  return {
    prompts: [a.prompt],
    steps: a.steps,
    guidanceScale: w.guidanceScale,
    height: w.size,
    width: w.size,
    seed: a.seed,
  };
}

/**
 * Mean time of one UNet call at each of `rowCounts` rows (rows at different timesteps, as in a
 * running batch), ms: what batching can save at most is rows x ms(1) / ms(rows).
 */
export async function unetCallMs(
  pipeline: SdPipeline,
  w: WorkloadSettings,
  rowCounts: readonly number[],
  calls = 20,
): Promise<Map<number, number>> {
  const prepared = await pipeline.prepare(
    options({ atMs: 0, steps: 10, prompt: PROMPTS[0], seed: 1 }, w),
  );
  const [, c, h, wd] = prepared.latentDims;
  const one = prepared.embeds;
  const out = new Map<number, number>();
  for (const rows of rowCounts) {
    const perRow = one.data.length / one.dims[0];
    const embeds = { data: new Float32Array(rows * perRow), dims: [rows, ...one.dims.slice(1)] };
    for (let r = 0; r < rows; r++) embeds.data.set(one.data.subarray(0, perRow), r * perRow);
    const sample = new Float32Array(rows * c * h * wd).fill(0.5);
    const timesteps = Float32Array.from({ length: rows }, (_, r) => 999 - 37 * r);
    const timer = new RunTimer();
    const run = () => pipeline.predictNoise(sample, [rows, c, h, wd], timesteps, embeds, timer);
    for (let i = 0; i < 3; i++) await run();
    const t = performance.now();
    for (let i = 0; i < calls; i++) await run();
    out.set(rows, (performance.now() - t) / calls);
  }
  return out;
}

/** Mean time of one sequential generation at `steps` (after a warm-up), ms. */
export async function sequentialServiceMs(
  pipeline: SdPipeline,
  w: WorkloadSettings,
  steps: number,
): Promise<number> {
  const a = { atMs: 0, steps, prompt: PROMPTS[0], seed: 1 };
  await pipeline.generate(options(a, w));
  const t = performance.now();
  for (let i = 0; i < 3; i++) await pipeline.generate(options({ ...a, seed: i }, w));
  return (performance.now() - t) / 3;
}

export async function runPolicy(
  pipeline: SdPipeline,
  policy: Policy,
  arrivals: readonly Arrival[],
  w: WorkloadSettings,
): Promise<PolicyResult> {
  const rowsPerRequest = w.guidanceScale > 1 ? 2 : 1;
  const limits: BatchLimits = {
    maxSamples: w.maxBatch * rowsPerRequest,
    maxPixels: w.maxBatch * rowsPerRequest * w.size * w.size,
  };
  let calls = 0;
  let callRequests = 0;
  const engine =
    policy === "sequential"
      ? undefined
      : new BatchEngine(pipeline, {
          limits,
          policy,
          onCall: (c) => {
            calls++;
            callRequests += c.members;
          },
        });
  const latencies: number[] = [];
  const etaErrors: number[] = [];
  const t0 = performance.now();
  if (engine === undefined) {
    // FIFO, one at a time: a request starts when it has arrived and the previous one is done.
    for (const a of arrivals) {
      await sleepUntil(t0, a.atMs);
      await pipeline.generate(options(a, w));
      latencies.push(performance.now() - t0 - a.atMs);
    }
    calls = 1;
    callRequests = 1;
  } else {
    await Promise.all(
      arrivals.map(async (a) => {
        await sleepUntil(t0, a.atMs);
        let halfway: { at: number; etaMs: number } | undefined;
        await engine.submit(options(a, w), {
          onProgress: (p) => {
            if (halfway === undefined && p.step >= p.steps / 2 && p.step > 0) {
              halfway = { at: performance.now(), etaMs: p.etaMs };
            }
          },
        });
        const done = performance.now();
        latencies.push(done - t0 - a.atMs);
        if (halfway !== undefined && done > halfway.at) {
          etaErrors.push(Math.abs(halfway.etaMs - (done - halfway.at)) / (done - halfway.at));
        }
      }),
    );
  }
  const wallS = (performance.now() - t0) / 1000;
  return {
    policy,
    imagesPerS: arrivals.length / wallS,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    meanBatch: callRequests / calls,
    wallS,
    ...(policy === "continuous" && etaErrors.length > 0
      ? { etaError: { p50: percentile(etaErrors, 50), p90: percentile(etaErrors, 90) } }
      : {}),
  };
}
