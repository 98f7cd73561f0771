/**
 * Continuous batching changes no image: each request of a mixed batch (different step counts,
 * guidance, seeds, sizes, joining at different step boundaries) yields the image it yields when
 * run alone through SdPipeline.generate(), within 1e-5 max abs on CPU, on tiny-sd2 (CFG, per-row
 * timesteps) and on the mini world (no CFG). Different sizes never share a UNet call, a CFG
 * pair never splits, and the per-call limits hold. Float-order: the measured difference is
 * printed; docs/batching.md records it.
 */
import { BatchEngine, type BatchModel } from "@budgetfusion/inference/batching/batch-engine";
import { loadModelDir } from "@budgetfusion/inference/pipeline/model-dir";
import { type GenerateOptions, SdPipeline } from "@budgetfusion/inference/pipeline/sd-pipeline";
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { fixturePath, maxAbsDiff } from "@budgetfusion/test-helpers/fixtures";
import { DEFAULT_MODELS_ROOT, ensureWorldModels } from "@budgetfusion/world/build";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

interface SeenCall {
  dims: readonly number[];
  timesteps: number[];
}

/** The pipeline as a BatchModel that records every UNet call's shape and timesteps. */
function recording(pipeline: SdPipeline, calls: SeenCall[]): BatchModel {
  return {
    modelId: pipeline.modelId,
    defaultSize: pipeline.defaultSize,
    schedulerConfig: pipeline.schedulerConfig,
    perRowTimesteps: pipeline.perRowTimesteps,
    prepare: (o) => pipeline.prepare(o),
    finish: (p) => pipeline.finish(p),
    predictNoise: (sample, dims, timestep, embeds, timer) => {
      calls.push({
        dims: [...dims],
        timesteps: typeof timestep === "number" ? [timestep] : Array.from(timestep),
      });
      return pipeline.predictNoise(sample, dims, timestep, embeds, timer);
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

async function checkParity(
  pipeline: SdPipeline,
  requests: GenerateOptions[],
  limits: { maxSamples: number; maxPixels: number },
  /** Submit request i once this many UNet calls have run (late joiners). */
  joinAfterCalls: number[],
) {
  const alone = [];
  for (const r of requests) alone.push(await pipeline.generate(r));
  const calls: SeenCall[] = [];
  const engine = new BatchEngine(recording(pipeline, calls), { limits });
  const results: Promise<Awaited<ReturnType<BatchEngine["submit"]>>>[] = [];
  for (const [i, r] of requests.entries()) {
    while (calls.length < joinAfterCalls[i]) await tick();
    results.push(engine.submit(r));
  }
  const batched = await Promise.all(results);
  let worst = 0;
  for (const [i, b] of batched.entries()) {
    expect(b.imageDims).toEqual(alone[i].imageDims);
    const d = maxAbsDiff(b.image, alone[i].image);
    worst = Math.max(worst, d);
    expect(d, `request ${i}`).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(b.latents, alone[i].latents), `latents ${i}`).toBeLessThanOrEqual(1e-5);
  }
  for (const c of calls) {
    expect(c.dims[0]).toBeGreaterThan(0);
    const pixels = c.dims[0] * c.dims[2] * c.dims[3] * 64;
    // A call over the limits is only ever a single request that alone exceeds them.
    if (c.dims[0] > limits.maxSamples || pixels > limits.maxPixels) {
      expect(c.timesteps.length).toBe(1);
    }
  }
  return { calls, worst, batched };
}

describe("batched == alone on tiny-sd2 (CFG, per-row timesteps)", () => {
  let pipeline: SdPipeline;
  beforeAll(async () => {
    pipeline = await SdPipeline.load(createNodeOrt(1), await loadModelDir(fixturePath("tiny-sd2")));
  });
  afterAll(() => pipeline?.dispose());

  it("mixed steps, guidance, seeds, sizes and late joiners", async () => {
    const base = { negativePrompt: "blurry", height: 64, width: 64 };
    const requests: GenerateOptions[] = [
      { ...base, prompts: ["a red bicycle"], steps: 9, guidanceScale: 7.5, seed: 1 },
      { ...base, prompts: ["a blue car"], steps: 4, guidanceScale: 5, seed: 2 },
      { ...base, prompts: ["a green tree", "a cat"], steps: 6, guidanceScale: 7.5, seed: 3 },
      { ...base, prompts: ["no guidance"], steps: 5, guidanceScale: 1, seed: 4 },
      { ...base, prompts: ["a wider one"], steps: 3, guidanceScale: 7.5, seed: 5, width: 96 },
    ];
    const { calls, worst } = await checkParity(
      pipeline,
      requests,
      { maxSamples: 16, maxPixels: 16 * 96 * 96 },
      [0, 0, 2, 3, 1],
    );
    console.log(`tiny-sd2 batched vs alone: max abs image difference ${worst.toExponential(2)}`);
    // Rows at different steps shared calls, and the two sizes never did.
    expect(calls.some((c) => new Set(c.timesteps).size > 1)).toBe(true);
    expect(Math.max(...calls.map((c) => c.dims[0]))).toBeGreaterThanOrEqual(6);
    const wide = calls.filter((c) => c.dims[3] === 12);
    expect(wide.length).toBe(3);
    expect(wide.every((c) => c.dims[0] === 2)).toBe(true);
  });

  it("the per-call sample limit splits nothing and holds joiners back", async () => {
    const base = { negativePrompt: "", height: 64, width: 64, guidanceScale: 7.5 };
    const requests: GenerateOptions[] = [0, 1, 2].map((i) => ({
      ...base,
      prompts: [`prompt ${i}`],
      steps: 3 + i,
      seed: 10 + i,
    }));
    const { calls } = await checkParity(
      pipeline,
      requests,
      { maxSamples: 4, maxPixels: 1e9 },
      [0, 0, 0],
    );
    expect(Math.max(...calls.map((c) => c.dims[0]))).toBe(4);
    // The third waited for a place, then ran: 3 + 4 + 5 steps in fewer calls than alone.
    expect(calls.length).toBeLessThan(12);
  });
});

describe("batched == alone on the mini world", () => {
  let pipeline: SdPipeline;
  beforeAll(async () => {
    ensureWorldModels(DEFAULT_MODELS_ROOT, "v1");
    pipeline = await SdPipeline.load(
      createNodeOrt(1),
      await loadModelDir(`${DEFAULT_MODELS_ROOT}/mini-world`),
    );
  });
  afterAll(() => pipeline?.dispose());

  it("eight requests with the bundle's budgets", async () => {
    const steps = [99, 12, 35, 3, 30, 10, 64, 1];
    const requests: GenerateOptions[] = steps.map((s, i) => ({
      prompts: [["a plain white wall", "a detailed forest with leaves", "a red ball"][i % 3]],
      steps: s,
      guidanceScale: 1,
      height: 128,
      width: 128,
      seed: 100 + i,
    }));
    const { calls, worst } = await checkParity(
      pipeline,
      requests,
      { maxSamples: 8, maxPixels: 8 * 128 * 128 },
      [0, 0, 5, 5, 20, 20, 21, 40],
    );
    console.log(`mini world batched vs alone: max abs image difference ${worst.toExponential(2)}`);
    expect(Math.max(...calls.map((c) => c.dims[0]))).toBeGreaterThanOrEqual(5);
    // Far fewer UNet calls than the 254 steps run one at a time.
    expect(calls.length).toBeLessThan(254 / 2);
  });
});
