/**
 * The world's ONNX graphs against the plain TypeScript reference (reference.ts) on random inputs,
 * and the builder's determinism (docs/mini-world.md §6).
 */

import type { PortSession } from "@budgetfusion/shared/runtime/ort-port";
import { beforeAll, describe, expect, it } from "vitest";
import { createNodeOrt } from "../runtime/ort-node";
import { buildLexiconTable } from "./lexicon-table";
import { type BuiltModels, buildModelFiles, MODEL_DIRS } from "./model-files";
import { textEncoderRef, unetRef, vaeDecoderRef } from "./reference";
import { clipTokenizer, VOCAB_SIZE } from "./tokenize";
import { sigmaTable } from "./world-config";
import { C_TEXT, mulberry32, normals, worldTables } from "./world-spec";

const port = createNodeOrt(1);
const tok = clipTokenizer();
const lex = buildLexiconTable(tok.vocab, VOCAB_SIZE);
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
    const ids = tok.encode(PROMPTS, 0);
    const out = await sessions.text_encoder.run({
      input_ids: { type: "int32", data: ids, dims: [PROMPTS.length, 77] },
    });
    expect(out.last_hidden_state.dims).toEqual([PROMPTS.length, 77, C_TEXT]);
    expect(
      scaledDiff(out.last_hidden_state.data as Float32Array, textEncoderRef(ids, lex, tables)),
    ).toBeLessThan(1e-6);
  });

  it("UNet: epsilon within 1e-5 (scaled) at every noise level, several sizes, per-row timesteps", async () => {
    const ids = tok.encode(PROMPTS, 0);
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
      const rand = mulberry32(h * 1000 + Math.round(ts[0]));
      const sample = normals(rand, b * 4 * h * w);
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
    const ehs = normals(mulberry32(3), b * 77 * C_TEXT).map((v) => v * 0.1);
    const sample = normals(mulberry32(4), b * 4 * 16 * 16);
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
    const latent = normals(mulberry32(9), b * 4 * h * w).map((v) => v * 5);
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
    [0.2, 0.1, -0.3, 0].forEach((v, c) => latent.fill(v / 0.18215, c * h * w, (c + 1) * h * w));
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

describe("world:build", () => {
  it("is deterministic: a second build gives byte-identical files", () => {
    const again = buildModelFiles();
    expect([...again.files.keys()].sort()).toEqual([...built.files.keys()].sort());
    for (const [rel, bytes] of built.files) {
      expect(Buffer.from(again.files.get(rel) ?? []).equals(Buffer.from(bytes)), rel).toBe(true);
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
