/**
 * The GPU worker app over the real tiny-sd2 pipeline and tiny-clip text model (SPEC §2, §7):
 * a seeded request through the HTTP app yields exactly the image the pipeline computes from the
 * documented seeded N(0,1) draw, request scheduler overrides reach the Euler loop, and /v1/embed matches the reference CLIP text embeddings (fixtures/refs-public/clip.json).
 */

import { createApp, type WorkerState } from "@budgetfusion/gpu-worker/app";
import { createMetrics } from "@budgetfusion/gpu-worker/metrics";
import { JobQueue } from "@budgetfusion/gpu-worker/queue/job-queue";
import { loadClipTextEmbedder } from "@budgetfusion/inference/embedding/clip-text-embedder";
import { loadModelDir } from "@budgetfusion/inference/pipeline/model-dir";
import { SdPipeline } from "@budgetfusion/inference/pipeline/sd-pipeline";
import { NodeOrtPort } from "@budgetfusion/inference/runtime/ort-node";
import type { TextEmbedder } from "@budgetfusion/shared/embedding/clip-text-embedder";
import { decodePngToRgb, encodeImagePng } from "@budgetfusion/shared/image/png-image";
import { seededLatents } from "@budgetfusion/shared/random/seeded-random";
import {
  type ArrayRef,
  fixturePath,
  maxAbsDiff,
  readF32,
  readJson,
} from "@budgetfusion/test-helpers/fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const JSON_TYPE = { "content-type": "application/json" };

describe("worker app on tiny-sd2 and tiny-clip", () => {
  let pipeline: SdPipeline;
  let embedder: TextEmbedder;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    const port = new NodeOrtPort();
    pipeline = await SdPipeline.load(port, await loadModelDir(fixturePath("tiny-sd2")));
    embedder = await loadClipTextEmbedder(port, fixturePath("tiny-clip"));
    const queue = new JobQueue({ concurrency: 2, queueLimit: 4 });
    const state: WorkerState = { generator: pipeline, embedder, embedConfigured: true };
    app = createApp({ state, queue, metrics: createMetrics(queue), requestTimeoutMs: 60_000 });
  });
  afterAll(async () => {
    await pipeline?.dispose();
    await embedder?.release();
  });

  it("serves the image the pipeline computes from the seeded draw", async () => {
    const body = {
      prompt: "a red bicycle",
      steps: 5,
      guidance_scale: 6,
      seed: 42,
      width: 64,
      height: 64,
    };
    const res = await app.request("/v1/generate", {
      method: "POST",
      headers: JSON_TYPE,
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-bf-model")).toBe("tiny-sd2");
    const png = new Uint8Array(await res.arrayBuffer());

    const direct = await pipeline.generate({
      prompts: ["a red bicycle"],
      steps: 5,
      guidanceScale: 6,
      height: 64,
      width: 64,
      latents: seededLatents(42, [1, 4, 8, 8]),
    });
    expect(png).toEqual(encodeImagePng(direct.image, direct.imageDims, 0));
    // A different seed is a different image.
    const other = await app.request("/v1/generate", {
      method: "POST",
      headers: JSON_TYPE,
      body: JSON.stringify({ ...body, seed: 43 }),
    });
    const a = decodePngToRgb(png).data;
    const b = decodePngToRgb(new Uint8Array(await other.arrayBuffer())).data;
    expect(maxAbsDiff(a, b)).toBeGreaterThan(0.01);
  });

  it("merges the request's scheduler object over the model's config", async () => {
    const body = {
      prompt: "a bowl of fruit",
      steps: 4,
      seed: 5,
      width: 64,
      height: 64,
      scheduler: { prediction_type: "epsilon", timestep_spacing: "trailing" },
    };
    const res = await app.request("/v1/generate", {
      method: "POST",
      headers: JSON_TYPE,
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    const png = new Uint8Array(await res.arrayBuffer());
    const opts = {
      prompts: ["a bowl of fruit"],
      steps: 4,
      guidanceScale: 7.5,
      height: 64,
      width: 64,
      latents: seededLatents(5, [1, 4, 8, 8]),
    };
    const withOverride = await pipeline.generate({ ...opts, scheduler: body.scheduler });
    const without = await pipeline.generate(opts);
    expect(png).toEqual(encodeImagePng(withOverride.image, withOverride.imageDims, 0));
    expect(maxAbsDiff(withOverride.image, without.image)).toBeGreaterThan(0.01);
  });

  it("embeds texts like the reference CLIP (L2-normalised, <= 1e-5)", async () => {
    const clip = readJson<{ prompts: string[]; text_embeds: ArrayRef }>("refs-public", "clip.json");
    const res = await app.request("/v1/embed", {
      method: "POST",
      headers: JSON_TYPE,
      body: JSON.stringify({ texts: clip.prompts }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { model_id: string; width: number; embeddings: number[][] };
    expect([body.model_id, body.width, body.embeddings.length]).toEqual([
      "tiny-clip",
      16,
      clip.prompts.length,
    ]);
    const ref = readF32(fixturePath("refs-public"), clip.text_embeds).data;
    for (let i = 0; i < clip.prompts.length; i++) {
      const row = ref.subarray(i * 16, (i + 1) * 16);
      const norm = Math.hypot(...row);
      expect(
        maxAbsDiff(
          body.embeddings[i],
          Array.from(row, (v) => v / norm),
        ),
      ).toBeLessThanOrEqual(1e-5);
    }
  });
});
