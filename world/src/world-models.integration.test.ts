/**
 * The world's ONNX graphs against the plain TypeScript reference (reference.ts) on random inputs,
 * and the builder's determinism (docs/mini-world.md §6).
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { mulberry32Random } from "@budgetfusion/shared/random/seeded-random";
import type { PortSession } from "@budgetfusion/shared/runtime/ort-port";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureWorldModels, staleWorldFiles } from "./build";
import { buildLexiconTable } from "./lexicon-table";
import { type BuiltModels, buildModelFiles, MODEL_DIRS } from "./model-files";
import { sigmaAt, textEncoderRef, unetRef, vaeDecoderRef } from "./reference";
import { clipVocab, type PromptEncoder, promptEncoder, VOCAB_SIZE } from "./tokenize";
import { sigmaTable } from "./world-config";
import { unpackParams } from "./world-params";
import { C_TEXT, worldTables } from "./world-spec";

const port = createNodeOrt(1);
const lex = buildLexiconTable(clipVocab(), VOCAB_SIZE);
let tok: PromptEncoder;
const tables = worldTables();
const sigmas = sigmaTable();
let built: BuiltModels;
const sessions: Record<string, PortSession> = {};

/** max |a - b| / max(1, max |b|): float32 graph against float64 reference. */
function scaledDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  let m = 1;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

beforeAll(async () => {
  built = buildModelFiles();
  // The pipeline's tokenizer (shared ClipTokenizer) on the built mini-world/tokenizer folder.
  tok = await promptEncoder(async (rel) => {
    const bytes = built.files.get(`${MODEL_DIRS.diffusion}/tokenizer/${rel}`);
    if (!bytes) throw new Error(`missing tokenizer/${rel}`);
    return new TextDecoder().decode(bytes);
  });
  for (const c of ["text_encoder", "unet", "vae_decoder"]) {
    const bytes = built.files.get(`${MODEL_DIRS.diffusion}/${c}/model.onnx`);
    if (!bytes) throw new Error(`missing ${c}`);
    sessions[c] = await port.createSession(bytes);
  }
});

const PROMPTS = [
  "a red ball on a white floor",
  "a colorful park with a crowd",
  "",
  "two small dogs in a green meadow with grass",
  "Three tiny yellow balloons over the calm blue sea at sunset!",
  "a city street at night, detailed, intricate",
];

describe("mini-world ONNX graphs equal the TypeScript reference", () => {
  it("text encoder: token lookup and hash channels", async () => {
    const ids = tok.encode(PROMPTS);
    const out = await sessions.text_encoder.run({
      input_ids: { type: "int32", data: ids, dims: [PROMPTS.length, 77] },
    });
    expect(out.last_hidden_state.dims).toEqual([PROMPTS.length, 77, C_TEXT]);
    expect(
      scaledDiff(out.last_hidden_state.data as Float32Array, textEncoderRef(ids, lex, tables)),
    ).toBeLessThan(1e-6);
  });

  it("UNet: epsilon within 1e-5 (scaled) at every noise level, several sizes, per-row timesteps", async () => {
    const ids = tok.encode(PROMPTS);
    const b = PROMPTS.length;
    const ehs = textEncoderRef(ids, lex, tables);
    const cases: [number, number, number[]][] = [
      [16, 16, [999]],
      [16, 16, [600.5]],
      [16, 16, [250]],
      [8, 12, [61]],
      [8, 8, [12.25]],
      [16, 16, [1]],
      [16, 16, [999, 700, 400, 100, 20, 2]],
    ];
    for (const [h, w, ts] of cases) {
      // What the loop feeds at timestep t: (x0 + sigma * noise) / sqrt(sigma^2 + 1), with x0 drawn
      // uniformly in [-1, 1] (images of any content, not only this world's).
      const rand = mulberry32Random(h * 1000 + Math.round(ts[0]));
      const noise = rand.normals(b * 4 * h * w);
      const per = 4 * h * w;
      const sample = noise.map((n, i) => {
        const sigma = sigmaAt(ts.length === 1 ? ts[0] : ts[Math.floor(i / per)], sigmas);
        return (2 * rand.next() - 1 + sigma * n) / Math.sqrt(sigma * sigma + 1);
      });
      const out = await sessions.unet.run({
        sample: { type: "float32", data: sample, dims: [b, 4, h, w] },
        timestep: { type: "float32", data: Float32Array.from(ts), dims: [ts.length] },
        encoder_hidden_states: { type: "float32", data: ehs, dims: [b, 77, C_TEXT] },
      });
      const ref = unetRef(sample, ts, ehs, { b, h, w }, tables, sigmas);
      expect(
        scaledDiff(out.out_sample.data as Float32Array, ref),
        `h=${h} w=${w} t=${ts}`,
      ).toBeLessThan(1e-5);
    }
  });

  it("UNet: random (non-prompt) hidden states stay finite and match", async () => {
    const b = 3;
    const ehs = mulberry32Random(3)
      .normals(b * 77 * C_TEXT)
      .map((v) => v * 0.1);
    const sample = mulberry32Random(4).normals(b * 4 * 16 * 16);
    const out = await sessions.unet.run({
      sample: { type: "float32", data: sample, dims: [b, 4, 16, 16] },
      timestep: { type: "float32", data: Float32Array.of(400), dims: [1] },
      encoder_hidden_states: { type: "float32", data: ehs, dims: [b, 77, C_TEXT] },
    });
    const data = out.out_sample.data as Float32Array;
    expect(data.every(Number.isFinite)).toBe(true);
    expect(
      scaledDiff(data, unetRef(sample, [400], ehs, { b, h: 16, w: 16 }, tables, sigmas)),
    ).toBeLessThan(1e-5);
  });

  it("VAE decoder: x8 upsampling with edge clamping and grain", async () => {
    const [b, h, w] = [2, 5, 7];
    const latent = mulberry32Random(9)
      .normals(b * 4 * h * w)
      .map((v) => v * 5);
    const out = await sessions.vae_decoder.run({
      latent_sample: { type: "float32", data: latent, dims: [b, 4, h, w] },
    });
    expect(out.sample.dims).toEqual([b, 3, 8 * h, 8 * w]);
    expect(
      scaledDiff(out.sample.data as Float32Array, vaeDecoderRef(latent, { b, h, w }, tables)),
    ).toBeLessThan(1e-6);
  });

  it("VAE decoder maps a constant latent colour to that colour everywhere", async () => {
    // Hand-computed: latent (L, a, b) = (0.2, 0.1, -0.3) / 0.18215 -> RGB = (0.1, -0.1, 0.6).
    const [h, w] = [3, 4];
    const latent = new Float32Array(4 * h * w);
    for (const [c, v] of [0.2, 0.1, -0.3, 0].entries())
      latent.fill(v / 0.18215, c * h * w, (c + 1) * h * w);
    const out = (
      await sessions.vae_decoder.run({
        latent_sample: { type: "float32", data: latent, dims: [1, 4, h, w] },
      })
    ).sample.data as Float32Array;
    const plane = 64 * h * w;
    [0.1, -0.1, 0.6].forEach((v, c) => {
      for (let i = 0; i < plane; i++) expect(out[c * plane + i]).toBeCloseTo(v, 5);
    });
  });
});

describe("prompt -> world parameters", () => {
  const params = (prompt: string) => {
    // The encoder packs the prompt's parameters into row 0 of last_hidden_state.
    const hidden = textEncoderRef(tok.encode([prompt]), lex, tables);
    return unpackParams(hidden.subarray(0, C_TEXT));
  };

  it("reads counts from number words and plurals", () => {
    expect(params("two dogs on the grass").count).toBeCloseTo(2, 6);
    expect(params("a dog").count).toBeCloseTo(1, 6);
    expect(params("a crowd").count).toBeCloseTo(12, 6);
    expect(params("a plain wall").count).toBe(0);
  });

  it("routes a colour before a scene word to the scene: red ball, white floor", () => {
    const p = params("a red ball on a white floor");
    // Object colour: red (weight 1) and the ball's default red (0.3) -> latent a = (R - G) / 2 > 0.6.
    expect(p.obj[1]).toBeGreaterThan(0.6);
    // Background: white (1) + floor's wood (0.6) + neutral prior (0.15): bright and warm, not red.
    expect(p.bg[0]).toBeGreaterThan(0.2);
    expect(p.bg[1]).toBeLessThan(0.2);
  });

  it("texture words raise the spectrum and lower its exponent; smooth words do the opposite", () => {
    const grass = params("a green meadow with grass");
    const wall = params("a plain white wall");
    expect(grass.amp[0]).toBeGreaterThan(20 * wall.amp[0]);
    expect(grass.alpha).toBeLessThan(wall.alpha - 1.5);
    // The empty prompt is the broad prior (spec = 0); any word makes the prompt specific.
    expect(params("").spec).toBe(0);
    expect(params("dog").spec).toBeGreaterThan(0.9);
  });
});

describe("world:build", () => {
  it("is deterministic: a second build gives byte-identical files", () => {
    const again = buildModelFiles();
    expect([...again.files.keys()].sort()).toEqual([...built.files.keys()].sort());
    for (const [rel, bytes] of built.files) {
      expect(Buffer.from(again.files.get(rel) ?? []).equals(Buffer.from(bytes)), rel).toBe(true);
    }
  });

  it("set-up builds missing folders once, then finds them current and byte-identical", () => {
    const root = mkdtempSync(join(tmpdir(), "mini-world-"));
    try {
      expect(ensureWorldModels(root)).toBe(true);
      expect(ensureWorldModels(root)).toBe(false);
      expect(staleWorldFiles(root)).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("writes the diffusers and transformers.js layouts", () => {
    const keys = new Set(built.files.keys());
    for (const rel of [
      "mini-world/model_index.json",
      "mini-world/scheduler/scheduler_config.json",
      "mini-world/tokenizer/tokenizer.json",
      "mini-world/tokenizer/tokenizer_config.json",
      "mini-world/text_encoder/model.onnx",
      "mini-world/unet/model.onnx",
      "mini-world/vae_decoder/model.onnx",
      "mini-world/vae_decoder/config.json",
      "mini-world-clip/config.json",
      "mini-world-clip/tokenizer.json",
      "mini-world-clip/tokenizer_config.json",
      "mini-world-clip/preprocessor_config.json",
      "mini-world-clip/onnx/text_model.onnx",
      "mini-world-clip/onnx/vision_model.onnx",
      "mini-world-dreamsim/preprocessor_config.json",
      "mini-world-dreamsim/onnx/vision_model.onnx",
    ]) {
      expect(keys.has(rel), rel).toBe(true);
    }
  });
});
