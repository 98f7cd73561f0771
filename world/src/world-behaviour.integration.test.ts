/**
 * The world behaves like a text-to-image model for BudgetFusion's purposes (docs/mini-world.md
 * §4-6): run through the shared Euler scheduler with the ONNX files, a smooth prompt converges in
 * fewer steps than a textured one, samples are new images, and the embedding models place images
 * of the same prompt closer together than images of different prompts.
 */

import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { ClipTextEmbedder } from "@budgetfusion/shared/embedding/clip-text-embedder";
import { loadClipTokenizer } from "@budgetfusion/shared/tokenizer/clip-tokenizer";
import { beforeAll, describe, expect, it } from "vitest";
import { CLIP_MEAN, CLIP_STD } from "./embedding-graphs";
import { type BuiltModels, buildModelFiles, MODEL_DIRS } from "./model-files";
import { onnxWorldNets, toPixelValues, worldImageEmbedder } from "./onnx-nets";
import { initialNoise, sampleLatents } from "./sampler";
import { type PromptEncoder, promptEncoder } from "./tokenize";
import { SCHEDULER_CONFIG } from "./world-config";

const port = createNodeOrt(1);
let tok: PromptEncoder;
const H = 8; // 64x64 images keep the loop fast
let built: BuiltModels;
let nets: Awaited<ReturnType<typeof onnxWorldNets>>;
const bytes = (rel: string) => {
  const b = built.files.get(rel);
  if (!b) throw new Error(`missing ${rel}`);
  return b;
};
const text = (rel: string) => Promise.resolve(new TextDecoder().decode(bytes(rel)));

async function sample(prompt: string, steps: number, seed: number): Promise<Float32Array> {
  return sampleLatents(nets, {
    condIds: tok.encode([prompt]),
    uncondIds: tok.encode([""]),
    h: H,
    w: H,
    steps,
    guidance: 1,
    noise: initialNoise(seed, H, H),
    schedulerConfig: SCHEDULER_CONFIG,
  });
}

const meanAbs = (a: Float32Array, b: Float32Array) =>
  a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);

beforeAll(async () => {
  built = buildModelFiles();
  tok = await promptEncoder((rel) => text(`${MODEL_DIRS.diffusion}/tokenizer/${rel}`));
  nets = await onnxWorldNets(port, (rel) => bytes(`${MODEL_DIRS.diffusion}/${rel}`), H, H);
});

describe("step-count behaviour on the shared Euler scheduler", () => {
  const T = [2, 5, 9, 17, 33];
  async function curve(prompt: string): Promise<number[]> {
    const d = T.map(() => 0);
    for (const seed of [0, 1]) {
      const ref = await sample(prompt, 65, seed);
      for (const [i, t] of T.entries()) d[i] += meanAbs(await sample(prompt, t, seed), ref) / 2;
    }
    return d;
  }

  it("a smooth prompt converges in fewer steps than a textured one", async () => {
    const smooth = await curve("a plain white wall");
    const textured = await curve("a green meadow with grass");
    // First step count whose latents are within 0.01 of the 65-step result.
    const converged = (d: number[]) => T[d.findIndex((v) => v < 0.01)] ?? Number.POSITIVE_INFINITY;
    expect(converged(smooth)).toBeLessThanOrEqual(9);
    expect(converged(textured)).toBeGreaterThan(17);
    // The textured prompt keeps improving between 9 and 33 steps.
    expect(textured[4]).toBeLessThan(0.8 * textured[2]);
    for (let i = 0; i < T.length; i++) expect(smooth[i]).toBeLessThan(textured[i]);
  });

  it("different seeds give different images (samples, not copies)", async () => {
    const a = await sample("a green meadow with grass", 17, 0);
    const b = await sample("a green meadow with grass", 17, 1);
    expect(meanAbs(a, b)).toBeGreaterThan(0.05);
  });
});

describe("embedding models", () => {
  const prompts = [
    "a red ball on a white floor",
    "a green meadow with grass",
    "a city street at night",
  ];
  let images: Float32Array[][];

  beforeAll(async () => {
    images = [];
    for (const p of prompts) {
      const row: Float32Array[] = [];
      for (const seed of [0, 1]) {
        const lat = await sample(p, 20, seed);
        row.push(
          await nets.decode(
            lat.map((v) => v / 0.18215),
            1,
          ),
        );
      }
      images.push(row);
    }
  });

  async function check(dir: string, mean: number[], std: number[]): Promise<void> {
    const emb = await worldImageEmbedder(port, (rel) => bytes(`${dir}/${rel}`));
    const e = await Promise.all(
      images.map((row) =>
        Promise.all(
          row.map((im) => emb.embedPixels(toPixelValues(im, 8 * H, 8 * H, mean, std), 1)),
        ),
      ),
    );
    for (let p = 0; p < prompts.length; p++) {
      const same = cos(e[p][0], e[p][1]);
      for (let q = 0; q < prompts.length; q++) {
        if (q === p) continue;
        for (const other of e[q])
          expect(same, `${prompts[p]} vs ${prompts[q]}`).toBeGreaterThan(cos(e[p][0], other));
      }
    }
    await emb.release();
  }

  it("CLIP-like vision model: same-prompt images are closer than different-prompt ones", async () => {
    await check(MODEL_DIRS.clip, CLIP_MEAN, CLIP_STD);
  });

  it("DreamSim-like vision model: same-prompt images are closer than different-prompt ones", async () => {
    await check(MODEL_DIRS.dreamsim, [0, 0, 0], [1, 1, 1]);
  });

  it("CLIP-like text embeddings are closest to their own prompt's images", async () => {
    // The embedder the edge, the GPU worker and training use, on the CLIP folder's tokenizer.
    const textModel = await ClipTextEmbedder.fromSession(
      await port.createSession(bytes(`${MODEL_DIRS.clip}/onnx/text_model.onnx`)),
      await loadClipTokenizer((rel) => text(`${MODEL_DIRS.clip}/${rel}`)),
      { modelId: MODEL_DIRS.clip },
    );
    const vision = await worldImageEmbedder(port, (rel) => bytes(`${MODEL_DIRS.clip}/${rel}`));
    const t = await textModel.embed(prompts);
    const E = textModel.width;
    for (let p = 0; p < prompts.length; p++) {
      const tp = t.slice(p * E, (p + 1) * E);
      const sims = await Promise.all(
        images.map(async (row) =>
          cos(
            tp,
            await vision.embedPixels(toPixelValues(row[0], 8 * H, 8 * H, CLIP_MEAN, CLIP_STD), 1),
          ),
        ),
      );
      expect(sims.indexOf(Math.max(...sims)), prompts[p]).toBe(p);
    }
    await Promise.all([textModel.release(), vision.release()]);
  });
});
