/**
 * The JSON configuration files of the mini-world model folders: diffusers' model_index.json,
 * scheduler, VAE and UNet configs (as fixtures/tiny-sd2 has them), the world's own
 * mini_world.json (recommended guidance, sizes, build version), and the transformers.js
 * config.json / preprocessor_config.json of the two embedding models (as fixtures/tiny-clip).
 */
import { CLIP_EMBED_DIM, CLIP_MEAN, CLIP_STD, DREAMSIM_EMBED_DIM } from "./embedding-graphs";
import { RECOMMENDED_GUIDANCE, SCHEDULER_CONFIG, VAE_CONFIG } from "./world-config";
import { C_TEXT, J, json, K, LATENT_CHANNELS, REFERENCE_GRID } from "./world-spec";

/** Bumped whenever the world's maths or files change; set-up rebuilds on a mismatch. */
export const WORLD_FORMAT_VERSION = 1;

const onnxModel = ["diffusers", "OnnxRuntimeModel"];

/** model_index.json of every mini world: the diffusers ONNX pipeline with its four parts. */
export const MODEL_INDEX = {
  _class_name: "OnnxStableDiffusionPipeline",
  _diffusers_version: "0.36.0",
  feature_extractor: [null, null],
  safety_checker: [null, null],
  scheduler: ["diffusers", "EulerDiscreteScheduler"],
  text_encoder: onnxModel,
  tokenizer: ["transformers", "CLIPTokenizer"],
  unet: onnxModel,
  vae_decoder: onnxModel,
  vae_encoder: [null, null],
  requires_safety_checker: false,
};

export function diffusersConfigs(): Record<string, Uint8Array> {
  return {
    "model_index.json": json(MODEL_INDEX),
    "scheduler/scheduler_config.json": json(SCHEDULER_CONFIG),
    "vae_decoder/config.json": json({ ...VAE_CONFIG, block_out_channels: [4, 4, 4, 4] }),
    "unet/config.json": json({
      in_channels: LATENT_CHANNELS,
      sample_size: REFERENCE_GRID,
      cross_attention_dim: C_TEXT,
    }),
    "text_encoder/config.json": json({
      model_type: "clip_text_model",
      vocab_size: 49408,
      hidden_size: C_TEXT,
      max_position_embeddings: 77,
      pad_token_id: 0,
      bos_token_id: 49406,
      eos_token_id: 49407,
    }),
    "mini_world.json": json({
      format_version: WORLD_FORMAT_VERSION,
      description:
        "Closed-form Gaussian-mixture text-to-image world (docs/mini-world.md). Built by `npm run world:build`.",
      recommended_guidance_scale: RECOMMENDED_GUIDANCE,
      default_image_size: REFERENCE_GRID * 8,
      mixture_components: K,
      object_slots: J,
      embedding_models: { clip: "mini-world-clip", dreamsim: "mini-world-dreamsim" },
    }),
  };
}

const preprocessor = (mean: number[], std: number[], normalize: boolean) => ({
  crop_size: { height: 224, width: 224 },
  do_center_crop: true,
  do_convert_rgb: true,
  do_normalize: normalize,
  do_rescale: true,
  do_resize: true,
  image_mean: mean,
  image_processor_type: "CLIPImageProcessor",
  image_std: std,
  resample: 3,
  rescale_factor: 0.00392156862745098,
  size: { shortest_edge: 224 },
});

export function embeddingConfigs(): Record<string, Uint8Array> {
  return {
    "mini-world-clip/config.json": json({
      model_type: "clip",
      projection_dim: CLIP_EMBED_DIM,
      logit_scale_init_value: 2.6592,
      text_config: {
        model_type: "clip_text_model",
        vocab_size: 49408,
        max_position_embeddings: 77,
        bos_token_id: 49406,
        eos_token_id: 49407,
        pad_token_id: 49407,
        projection_dim: CLIP_EMBED_DIM,
      },
      vision_config: {
        model_type: "clip_vision_model",
        image_size: 224,
        num_channels: 3,
        projection_dim: CLIP_EMBED_DIM,
      },
      mini_world: { format_version: WORLD_FORMAT_VERSION },
    }),
    "mini-world-clip/preprocessor_config.json": json(preprocessor(CLIP_MEAN, CLIP_STD, true)),
    "mini-world-dreamsim/config.json": json({
      model_type: "dreamsim",
      embedding_dim: DREAMSIM_EMBED_DIM,
      image_size: 224,
      mini_world: { format_version: WORLD_FORMAT_VERSION },
    }),
    "mini-world-dreamsim/preprocessor_config.json": json(preprocessor([0, 0, 0], [1, 1, 1], false)),
  };
}
