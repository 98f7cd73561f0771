/**
 * The world's ONNX files as WorldNets (sampler.ts) and image embedders, through the OrtPort seam.
 * Used by the world's tests and figures; serving goes through the SD pipeline of
 * @budgetfusion/inference like any diffusers model.
 */
import { parsePreprocessorConfig } from "@budgetfusion/inference/embedding/clip-preprocess";
import { OnnxImageEmbedder } from "@budgetfusion/inference/embedding/image-embedder";
import type { OrtPort, PortSession } from "@budgetfusion/shared/runtime/ort-port";
import type { WorldNets } from "./sampler";
import { C_TEXT, LATENT_CHANNELS } from "./world-spec";

export type ModelBytes = (rel: string) => Uint8Array;

async function run1(
  s: PortSession,
  feeds: Parameters<PortSession["run"]>[0],
): Promise<Float32Array> {
  const out = await s.run(feeds);
  return out[s.outputs[0].name].data as Float32Array;
}

/**
 * WorldNets over <world>/{text_encoder,unet,vae_decoder}/model.onnx for latents [.,4,h,w];
 * `hidden` is the text encoder's width (world v1's C_TEXT unless given).
 */
export async function onnxWorldNets(
  port: OrtPort,
  bytes: ModelBytes,
  h: number,
  w: number,
  hidden = C_TEXT,
): Promise<WorldNets & { release(): Promise<void> }> {
  const te = await port.createSession(bytes("text_encoder/model.onnx"));
  const un = await port.createSession(bytes("unet/model.onnx"));
  const va = await port.createSession(bytes("vae_decoder/model.onnx"));
  const f32 = (data: Float32Array, dims: number[]) => ({ type: "float32" as const, data, dims });
  return {
    encode: (ids, b) => run1(te, { input_ids: { type: "int32", data: ids, dims: [b, 77] } }),
    unet: (sample, t, ehs, b) =>
      run1(un, {
        sample: f32(sample, [b, LATENT_CHANNELS, h, w]),
        timestep: f32(Float32Array.of(t), [1]),
        encoder_hidden_states: f32(ehs, [b, 77, hidden]),
      }),
    decode: (latent, b) => run1(va, { latent_sample: f32(latent, [b, LATENT_CHANNELS, h, w]) }),
    async release() {
      await Promise.all([te.release(), un.release(), va.release()]);
    },
  };
}

/**
 * One of the world's image-embedding folders (mini-world-clip, mini-world-dreamsim) as the
 * inference package's embedder; `bytes` reads files relative to that folder.
 */
export async function worldImageEmbedder(
  port: OrtPort,
  bytes: ModelBytes,
): Promise<OnnxImageEmbedder> {
  const config = parsePreprocessorConfig(
    JSON.parse(new TextDecoder().decode(bytes("preprocessor_config.json"))),
  );
  return OnnxImageEmbedder.create(
    await port.createSession(bytes("onnx/vision_model.onnx")),
    config,
  );
}

/** Nearest-neighbour resize of an image [3,H,W] in [-1,1] to CLIP-normalised pixel_values [3,224,224]. */
export function toPixelValues(
  img: Float32Array,
  H: number,
  W: number,
  mean: readonly number[],
  std: readonly number[],
): Float32Array {
  const out = new Float32Array(3 * 224 * 224);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 224; y++) {
      const sy = Math.floor((y * H) / 224);
      for (let x = 0; x < 224; x++) {
        const v = Math.min(
          Math.max(img[(c * H + sy) * W + Math.floor((x * W) / 224)] / 2 + 0.5, 0),
          1,
        );
        out[(c * 224 + y) * 224 + x] = (v - mean[c]) / std[c];
      }
    }
  }
  return out;
}
