/**
 * Compute cost eta(t) of one text-to-image generation with t denoising steps (SPEC §6 Table 2):
 * text encoder once ([uncond; cond] when guidance > 1), the UNet once per step on the CFG batch
 * (2 images' worth when guidance > 1), the VAE decoder once. FLOPs of each component come from
 * its ONNX graph (onnx-flops.ts) at the dataset's image size.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { OrtPort, PortTensor, TensorElementType } from "@budgetfusion/shared/runtime/ort-port";
import { z } from "zod";
import { countOnnxFlops } from "./onnx-flops";

export interface SdCost {
  textFlops: number;
  /** One UNet evaluation of the CFG batch (both branches when guidance > 1). */
  unetStepFlops: number;
  vaeFlops: number;
  width: number;
  height: number;
  guidanceScale: number;
}

export const sdCostSchema = z.object({
  textFlops: z.number().nonnegative(),
  unetStepFlops: z.number().positive(),
  vaeFlops: z.number().nonnegative(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  guidanceScale: z.number(),
});

/** FLOPs of a generation with `steps` steps. */
function generationFlops(cost: SdCost, steps: number): number {
  return cost.textFlops + steps * cost.unetStepFlops + cost.vaeFlops;
}

/** TFLOPs (1e12) of a generation with `steps` steps: the paper's eta. */
export function generationTflops(cost: SdCost, steps: number): number {
  return generationFlops(cost, steps) / 1e12;
}

function zeros(type: TensorElementType | undefined, dims: number[]): PortTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  if (type === "int64") return { type, data: new BigInt64Array(n), dims };
  if (type === "int32") return { type, data: new Int32Array(n), dims };
  return { type: "float32", data: new Float32Array(n), dims };
}

/** Counts the three components of a diffusers-ONNX model folder at width x height. */
export async function measureSdCost(
  ort: OrtPort,
  modelDir: string,
  options: { width: number; height: number; guidanceScale: number; tokens?: number },
): Promise<SdCost> {
  const batch = options.guidanceScale > 1 ? 2 : 1;
  const tokens = options.tokens ?? 77;
  const bytes = async (c: string) =>
    new Uint8Array(await readFile(join(modelDir, c, "model.onnx")));
  const vaeConfig = JSON.parse(
    await readFile(join(modelDir, "vae_decoder", "config.json"), "utf8").catch(() => "{}"),
  ) as {
    block_out_channels?: number[];
    latent_channels?: number;
  };
  const factor = 2 ** ((vaeConfig.block_out_channels?.length ?? 4) - 1);
  const latentChannels = vaeConfig.latent_channels ?? 4;
  const h = options.height / factor;
  const w = options.width / factor;

  const textBytes = await bytes("text_encoder");
  const textSession = await ort.createSession(textBytes);
  const idsInput = textSession.inputs[0];
  const textOut = await textSession.run({ [idsInput.name]: zeros(idsInput.type, [batch, tokens]) });
  await textSession.release();
  const hidden = Object.values(textOut).find((t) => t.dims.length === 3);
  const textWidth = hidden?.dims[2] ?? 768;
  const text = await countOnnxFlops(ort, textBytes, {
    [idsInput.name]: zeros(idsInput.type, [batch, tokens]),
  });

  const unetBytes = await bytes("unet");
  const unetSession = await ort.createSession(unetBytes);
  const unetFeeds: Record<string, PortTensor> = {};
  for (const input of unetSession.inputs) {
    if (input.name === "sample") unetFeeds.sample = zeros("float32", [batch, latentChannels, h, w]);
    else if (input.name === "encoder_hidden_states")
      unetFeeds[input.name] = zeros("float32", [batch, tokens, textWidth]);
    else unetFeeds[input.name] = zeros(input.type, [1]);
  }
  await unetSession.release();
  const unet = await countOnnxFlops(ort, unetBytes, unetFeeds);

  const vaeBytes = await bytes("vae_decoder");
  const vaeSession = await ort.createSession(vaeBytes);
  const vaeInput = vaeSession.inputs[0].name;
  await vaeSession.release();
  const vae = await countOnnxFlops(ort, vaeBytes, {
    [vaeInput]: zeros("float32", [1, latentChannels, h, w]),
  });

  return {
    textFlops: text.total,
    unetStepFlops: unet.total,
    vaeFlops: vae.total,
    width: options.width,
    height: options.height,
    guidanceScale: options.guidanceScale,
  };
}
