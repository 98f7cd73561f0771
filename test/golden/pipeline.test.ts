/**
 * End-to-end parity of the GPU worker's Stable Diffusion pipeline with diffusers (SPEC §2):
 * every case of fixtures/refs-public/pipeline.json through the real tokenizer, ONNX sessions,
 * Euler loop and VAE, from the fixture's recorded N(0,1) draw. Tolerances from fixtures/README.md:
 * prompt embeddings <= 1e-5, final latents and image <= 1e-4 max abs. Plus the CLI contract.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModelDir } from "@budgetfusion/inference/pipeline/model-dir";
import { SdPipeline } from "@budgetfusion/inference/pipeline/sd-pipeline";
import { NodeOrtPort } from "@budgetfusion/inference/runtime/ort-node";
import {
  type ArrayRef,
  fixturePath,
  maxAbsDiff,
  readF32,
  readJson,
} from "@budgetfusion/test-helpers/fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

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

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
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

  it("guidance <= 1 encodes and denoises the conditional branch only", async () => {
    const c = cases.find((x) => x.name === "wall_1") as PipelineCase;
    const result = await pipeline.generate({
      prompts: prompts(c),
      steps: 1,
      guidanceScale: 1,
      height: c.height,
      width: c.width,
      latents: readF32(REFS, c.latents_unscaled).data,
    });
    // The fixture's embeddings are [uncond; cond]: the cond row is the second half.
    const ref = readF32(REFS, c.prompt_embeds);
    const cond = ref.data.subarray(ref.data.length / 2);
    expect(result.promptEmbedsDims).toEqual([1, 77, 32]);
    expect(maxAbsDiff(result.promptEmbeds, cond)).toBeLessThanOrEqual(1e-5);
    expect(result.latents.every(Number.isFinite)).toBe(true);
  });
});

describe("worker:generate CLI", () => {
  let out: string;
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), "bf-cli-"));
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  const run = (args: string[]) =>
    spawnSync("npm", ["run", "-s", "worker:generate", "--", ...args], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });

  it("reproduces a recorded batch case from its latents and writes the files", () => {
    const c = cases.find((x) => x.name === "batch_3") as PipelineCase;
    const r = run([
      "--model",
      MODEL,
      ...prompts(c).flatMap((p) => ["--prompt", p]),
      "--steps",
      String(c.steps),
      "--guidance",
      String(c.guidance_scale),
      "--height",
      String(c.height),
      "--width",
      String(c.width),
      "--latents",
      join(REFS, c.latents_unscaled.file),
      "--out-latents",
      join(out, "latents.bin"),
      "--out-image",
      join(out, "image.bin"),
      "--png",
      join(out, "img"),
    ]);
    expect(r.status, r.stderr).toBe(0);
    const latents = readF32(out, { file: "latents.bin", shape: c.final_latents.shape });
    const image = readF32(out, { file: "image.bin", shape: c.image.shape });
    expect(maxAbsDiff(latents.data, readF32(REFS, c.final_latents).data)).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(image.data, readF32(REFS, c.image).data)).toBeLessThanOrEqual(1e-4);
    // PNG signature on both images of the batch.
    for (const i of [0, 1]) {
      expect([...readFileSync(join(out, `img_${i}.png`)).subarray(0, 8)]).toEqual([
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a,
      ]);
    }
  });

  const base = (over: Record<string, string>) => {
    const flags: Record<string, string> = {
      "--model": MODEL,
      "--prompt": "x",
      "--steps": "2",
      "--guidance": "7.5",
      "--height": "64",
      "--width": "64",
      "--out-latents": join(out, "a.bin"),
      "--out-image": join(out, "b.bin"),
      ...over,
    };
    return Object.entries(flags)
      .filter(([, v]) => v !== "")
      .flat();
  };

  it.each([
    ["steps out of range", { "--steps": "0" }, /--steps/],
    ["size not a multiple of 8", { "--width": "100" }, /--width: must be a multiple of 8/],
    ["missing --prompt", { "--prompt": "" }, /--prompt is required/],
    ["non-numeric guidance", { "--guidance": "lots" }, /--guidance must be a number/],
    ["bad scheduler key", { "--scheduler": '{"timestep_spacing":"sideways"}' }, /timestep_spacing/],
  ])("rejects %s with one line and a non-zero exit", (_name, over, pattern) => {
    const r = run(base(over));
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\bat .*\(/); // no stack frames
  });

  it("rejects a latents file of the wrong size", () => {
    const bad = join(out, "short.bin");
    writeFileSync(bad, new Uint8Array(12));
    const r = run(base({ "--latents": bad }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--latents file .* has 12 bytes, expected 1024/);
  });
});
