/**
 * World v2's ONNX graphs against the numpy reference (world/tools/world_v2_reference.py, outputs
 * committed in world-v2.fixture.json): parameters, mixture means and variances, denoiser output,
 * an 11-step Euler sample, its decoded image, the two image embeddings and D-SIM / I-CLIP, and
 * p-bar. Tolerances: float32 graphs against a float64 reference; see each check.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { seededStandardNormal } from "@budgetfusion/shared/random/seeded-random";
import type { PortSession } from "@budgetfusion/shared/runtime/ort-port";
import { beforeAll, describe, expect, it } from "vitest";
import { onnxWorldNets } from "../onnx-nets";
import { sigmaAt } from "../reference";
import { sampleLatents } from "../sampler";
import { type PromptEncoder, promptEncoder } from "../tokenize";
import { SCHEDULER_CONFIG, sigmaTable } from "../world-config";
import { VAE_SCALING_FACTOR } from "../world-spec";
import { worldV2Config } from "./config";
import { type BuiltModelsV2, buildModelFilesV2, MODEL_DIRS_V2 } from "./model-files";
import { hiddenWidth, PARAMS } from "./text-graphs";

interface FixturePrompt {
  prompt: string;
  params: number[];
  means: number[];
  variances: number[];
  eps: number[][];
  latent11: number[];
  image11: number[];
  image11_mean: number;
  image11_std: number;
  dsim11: number;
  iclip11: number;
  dreamsim129: number[];
  clip129: number[];
  text: number[];
}
const fixture = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), "world-v2.fixture.json"), "utf8"),
) as { sigmas: number[]; seed: number; stride: number; steps: number; prompts: FixturePrompt[] };

const cfg = worldV2Config();
const H = hiddenWidth(cfg);
const N = 16;
const port = createNodeOrt(1);
const sigmas = sigmaTable();
let built: BuiltModelsV2;
let tok: PromptEncoder;
let clipTok: PromptEncoder;
const s: Record<string, PortSession> = {};

const every = (a: ArrayLike<number>, k: number) => Array.from(a).filter((_, i) => i % k === 0);
/** max |a - b| */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}
/** max |a - b| / |b| elementwise, for positive values spanning decades (variances). */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]) / Math.abs(b[i]));
  return d;
}
const file = (rel: string) => {
  const b = built.files.get(rel);
  if (!b) throw new Error(`missing ${rel}`);
  return b;
};
const text = (dir: string) => async (rel: string) =>
  new TextDecoder().decode(file(`${dir}/${rel}`));

/** The timestep whose sigma is `sigma` (inverse of the UNet's own interpolation). */
function timestepFor(sigma: number): number {
  let t = 0;
  while (t < sigmas.length - 1 && sigmas[t + 1] < sigma) t++;
  return t + (sigma - sigmas[t]) / (sigmas[t + 1] - sigmas[t]);
}

async function run(name: string, feeds: Parameters<PortSession["run"]>[0]) {
  return s[name].run(feeds);
}
const f32 = (data: Float32Array, dims: number[]) => ({ type: "float32" as const, data, dims });

beforeAll(async () => {
  built = buildModelFilesV2(cfg);
  tok = await promptEncoder(text(`${MODEL_DIRS_V2.diffusion}/tokenizer`));
  clipTok = await promptEncoder(text(MODEL_DIRS_V2.clip));
  const d = MODEL_DIRS_V2.diffusion;
  for (const [name, rel] of [
    ["text", `${d}/text_encoder/model.onnx`],
    ["unet", `${d}/unet/model.onnx`],
    ["clipText", `${MODEL_DIRS_V2.clip}/onnx/text_model.onnx`],
    ["clip", `${MODEL_DIRS_V2.clip}/onnx/vision_model.onnx`],
    ["dreamsim", `${MODEL_DIRS_V2.dreamsim}/onnx/vision_model.onnx`],
  ])
    s[name] = await port.createSession(file(rel));
}, 120_000);

async function encode(prompt: string) {
  const out = await run("text", {
    input_ids: { type: "int32", data: tok.encode([prompt]), dims: [1, 77] },
  });
  return {
    hidden: out.last_hidden_state.data as Float32Array,
    params: out.pooler_output.data as Float32Array,
  };
}

async function embed(model: "clip" | "dreamsim", img01: Float32Array) {
  const out = await run(model, { pixel_values: f32(img01, [1, 3, 128, 128]) });
  return out.image_embeds.data as Float32Array;
}
const cos = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += a[i] * b[i];
  return d;
};

describe.each(fixture.prompts.map((p, i) => ({ ...p, index: i })))(
  "world v2 on '$prompt'",
  (fx) => {
    it("text encoder: parameters within 1e-5, means within 1e-4, variances within 1e-4 relative", async () => {
      const { hidden, params } = await encode(fx.prompt);
      expect(params.length).toBe(PARAMS);
      expect(maxDiff(params, fx.params)).toBeLessThan(1e-5);
      const half = 2 * 4 * 256;
      expect(maxDiff(every(hidden.subarray(0, half), fixture.stride), fx.means)).toBeLessThan(1e-4);
      expect(
        maxRelDiff(every(hidden.subarray(half, 2 * half), fixture.stride), fx.variances),
      ).toBeLessThan(1e-4);
    });

    it("UNet: epsilon within 2e-3 at three noise levels", async () => {
      const { hidden } = await encode(fx.prompt);
      const x = seededStandardNormal(fixture.seed + fx.index, 4 * N * N);
      for (const [k, sigma] of fixture.sigmas.entries()) {
        const out = await run("unet", {
          sample: f32(x, [1, 4, N, N]),
          timestep: f32(Float32Array.of(timestepFor(sigma)), [1]),
          encoder_hidden_states: f32(hidden, [1, 77, H]),
        });
        expect(Math.abs(sigmaAt(timestepFor(sigma), sigmas) - sigma)).toBeLessThan(1e-5);
        expect(
          maxDiff(every(out.out_sample.data as Float32Array, fixture.stride), fx.eps[k]),
        ).toBeLessThan(2e-3);
      }
    });

    it("11 Euler steps, decoder, embeddings: latent within 2e-3, pixels within 5e-3, D-SIM / I-CLIP within 5e-3", async () => {
      const nets = await onnxWorldNets(
        port,
        (rel) => file(`${MODEL_DIRS_V2.diffusion}/${rel}`),
        N,
        N,
        H,
      );
      const ids = tok.encode([fx.prompt]);
      const noise = seededStandardNormal(fixture.seed + fx.index, 4 * N * N);
      const images: Float32Array[] = [];
      for (const steps of [fixture.steps, 129]) {
        const lat = await sampleLatents(nets, {
          condIds: ids,
          uncondIds: ids,
          h: N,
          w: N,
          steps,
          guidance: 1,
          noise,
          schedulerConfig: SCHEDULER_CONFIG,
        });
        if (steps === fixture.steps)
          expect(maxDiff(every(lat, fixture.stride), fx.latent11)).toBeLessThan(2e-3);
        const img = await nets.decode(
          lat.map((v) => v / VAE_SCALING_FACTOR),
          1,
        );
        images.push(img.map((v) => Math.min(Math.max(v / 2 + 0.5, 0), 1)));
      }
      await nets.release();
      const [im11, im129] = images;
      expect(maxDiff(every(im11, fixture.stride * 29), fx.image11)).toBeLessThan(5e-3);
      const mean = im11.reduce((a, v) => a + v, 0) / im11.length;
      expect(Math.abs(mean - fx.image11_mean)).toBeLessThan(1e-3);
      const d129 = await embed("dreamsim", im129);
      const c129 = await embed("clip", im129);
      expect(maxDiff(d129, fx.dreamsim129)).toBeLessThan(2e-3);
      expect(maxDiff(c129, fx.clip129)).toBeLessThan(2e-3);
      const dsim = Math.min(Math.max(1 - cos(await embed("dreamsim", im11), d129), 0), 1);
      const iclip = Math.min(Math.max(cos(await embed("clip", im11), c129), 0), 1);
      expect(Math.abs(dsim - fx.dsim11)).toBeLessThan(5e-3);
      expect(Math.abs(iclip - fx.iclip11)).toBeLessThan(5e-3);
    }, 60_000);

    it("CLIP text model: p-bar within 1e-5", async () => {
      const ids = clipTok.encode([fx.prompt]);
      const out = await run("clipText", {
        input_ids: {
          type: "int64",
          data: BigInt64Array.from(ids, (v) => BigInt(v)),
          dims: [1, 77],
        },
        attention_mask: { type: "int64", data: BigInt64Array.from(ids, () => 1n), dims: [1, 77] },
      });
      expect(maxDiff(out.text_embeds.data as Float32Array, fx.text)).toBeLessThan(1e-5);
    });
  },
);

describe("world v2 latent size", () => {
  it("refuses latents other than 16x16 with an error naming the input", async () => {
    const { hidden } = await encode("a red ball");
    const run32 = run("unet", {
      sample: f32(new Float32Array(4 * 32 * 32), [1, 4, 32, 32]),
      timestep: f32(Float32Array.of(500), [1]),
      encoder_hidden_states: f32(hidden, [1, 77, H]),
    });
    await expect(run32).rejects.toThrow(/sample/);
    const config = JSON.parse(
      new TextDecoder().decode(file(`${MODEL_DIRS_V2.diffusion}/unet/config.json`)),
    );
    expect(config).toMatchObject({ sample_size: 16, fixed_sample_size: true });
  });
});
