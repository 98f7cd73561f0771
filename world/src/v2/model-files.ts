/**
 * Every file of world v2's three model folders (mini-world-v2, -clip, -dreamsim), built in memory
 * from world-v2.config.json, the lexicon and the CLIP BPE vocabulary: deterministic, the same
 * source gives the same bytes. Layouts as world v1's (model-files.ts).
 */
import { OnnxGraph } from "@budgetfusion/shared/onnx/onnx-graph";
import { MODEL_INDEX } from "../config-files";
import { type FileSet, tokenizerFiles } from "../model-files";
import { clipVocab, VOCAB_SIZE } from "../tokenize";
import { RECOMMENDED_GUIDANCE, SCHEDULER_CONFIG, sigmaTable, VAE_CONFIG } from "../world-config";
import { json, VAE_SCALING_FACTOR, WORLD_ONNX } from "../world-spec";
import { type WorldV2Config, worldV2Config } from "./config";
import { unetV2, vaeDecoderV2 } from "./diffusion-graphs";
import { clipImageWidth, clipVisionV2, dreamsimVisionV2, dreamsimWidth } from "./embedding-graphs";
import { clipTextV2, clipTextWidth, hiddenWidth, PARAMS, textEncoderV2 } from "./text-graphs";
import { buildTokenTable } from "./token-table";
import { waveletBasis } from "./wavelet";

export const MODEL_DIRS_V2 = {
  diffusion: "mini-world-v2",
  clip: "mini-world-v2-clip",
  dreamsim: "mini-world-v2-dreamsim",
} as const;

/** Bumped whenever world v2's maths or files change; set-up rebuilds on a mismatch. */
export const WORLD_V2_FORMAT_VERSION = 1;

/** Pixel side of every image (16x16 latents x 8). */
const IMAGE_SIDE_V2 = 128;

function diffusersConfigsV2(cfg: WorldV2Config, dropped: string[]): Record<string, Uint8Array> {
  const n = cfg.latent.size;
  return {
    "model_index.json": json(MODEL_INDEX),
    "scheduler/scheduler_config.json": json(SCHEDULER_CONFIG),
    "vae_decoder/config.json": json({
      ...VAE_CONFIG,
      scaling_factor: VAE_SCALING_FACTOR,
      block_out_channels: [4, 4, 4, 4],
      _note: "mini-world v2 fixed decoder (docs/world-v2.md)",
    }),
    "unet/config.json": json({
      in_channels: 4,
      sample_size: n,
      cross_attention_dim: hiddenWidth(cfg),
      // The world's own key: its graphs take only sample_size x sample_size latents.
      fixed_sample_size: true,
    }),
    "text_encoder/config.json": json({
      model_type: "clip_text_model",
      vocab_size: VOCAB_SIZE,
      hidden_size: hiddenWidth(cfg),
      max_position_embeddings: 77,
      pad_token_id: 0,
      bos_token_id: 49406,
      eos_token_id: 49407,
    }),
    "mini_world.json": json({
      world: "v2",
      format_version: WORLD_V2_FORMAT_VERSION,
      description:
        "World v2: K-component wavelet-diagonal Gaussian mixture with an exact denoiser (docs/world-v2.md). Built by `npm run world:build -- --world v2`.",
      recommended_guidance_scale: RECOMMENDED_GUIDANCE,
      default_image_size: IMAGE_SIDE_V2,
      supported_image_sizes: [IMAGE_SIDE_V2],
      mixture_components: cfg.mixture.K,
      object_slots: cfg.mixture.J,
      pooler_output: `${PARAMS} world parameters`,
      lexicon_words_not_single_tokens: dropped,
      embedding_models: { clip: MODEL_DIRS_V2.clip, dreamsim: MODEL_DIRS_V2.dreamsim },
    }),
  };
}

// 128x128 images pass unchanged: no resize, and a centre crop of the full size (the crop size is
// also what the inference package's embedder probes the model with).
const preprocessor = {
  do_convert_rgb: true,
  do_resize: false,
  do_center_crop: true,
  do_rescale: true,
  rescale_factor: 0.00392156862745098,
  do_normalize: false,
  image_processor_type: "CLIPImageProcessor",
  resample: 3,
  size: { height: IMAGE_SIDE_V2, width: IMAGE_SIDE_V2 },
  crop_size: { height: IMAGE_SIDE_V2, width: IMAGE_SIDE_V2 },
};

export interface BuiltModelsV2 {
  files: FileSet;
  dropped: string[];
}

export function buildModelFilesV2(cfg = worldV2Config()): BuiltModelsV2 {
  const basis = waveletBasis(cfg.latent.size, cfg.latent.wavelet_levels);
  const table = buildTokenTable(clipVocab(), VOCAB_SIZE, cfg);
  const files: FileSet = new Map();
  const put = (dir: string, rel: string, bytes: Uint8Array) => files.set(`${dir}/${rel}`, bytes);
  const d = MODEL_DIRS_V2.diffusion;
  for (const [rel, bytes] of Object.entries(diffusersConfigsV2(cfg, table.dropped)))
    put(d, rel, bytes);
  for (const [rel, bytes] of Object.entries(tokenizerFiles(true)))
    put(d, `tokenizer/${rel}`, bytes);
  const te = new OnnxGraph("mini_world_v2_text_encoder");
  textEncoderV2(te, table, cfg, basis);
  put(d, "text_encoder/model.onnx", te.toBytes(WORLD_ONNX));
  put(d, "unet/model.onnx", unetV2(cfg, basis, sigmaTable()));
  put(d, "vae_decoder/model.onnx", vaeDecoderV2(cfg, basis));

  const c = MODEL_DIRS_V2.clip;
  for (const [rel, bytes] of Object.entries(tokenizerFiles(false))) put(c, rel, bytes);
  const ct = new OnnxGraph("mini_world_v2_clip_text");
  clipTextV2(ct, table, cfg);
  put(c, "onnx/text_model.onnx", ct.toBytes(WORLD_ONNX));
  put(c, "onnx/vision_model.onnx", clipVisionV2(cfg, IMAGE_SIDE_V2));
  put(c, "preprocessor_config.json", json(preprocessor));
  put(
    c,
    "config.json",
    json({
      model_type: "clip",
      projection_dim: clipTextWidth(cfg),
      text_config: {
        model_type: "clip_text_model",
        vocab_size: VOCAB_SIZE,
        max_position_embeddings: 77,
        bos_token_id: 49406,
        eos_token_id: 49407,
        pad_token_id: 49407,
        projection_dim: clipTextWidth(cfg),
      },
      vision_config: {
        model_type: "clip_vision_model",
        image_size: IMAGE_SIDE_V2,
        num_channels: 3,
        projection_dim: clipImageWidth(cfg),
      },
      mini_world: { world: "v2", format_version: WORLD_V2_FORMAT_VERSION },
    }),
  );
  const e = MODEL_DIRS_V2.dreamsim;
  put(e, "onnx/vision_model.onnx", dreamsimVisionV2(cfg, IMAGE_SIDE_V2));
  put(e, "preprocessor_config.json", json(preprocessor));
  put(
    e,
    "config.json",
    json({
      model_type: "dreamsim",
      embedding_dim: dreamsimWidth(cfg),
      image_size: IMAGE_SIDE_V2,
      mini_world: { world: "v2", format_version: WORLD_V2_FORMAT_VERSION },
    }),
  );
  return { files, dropped: table.dropped };
}
