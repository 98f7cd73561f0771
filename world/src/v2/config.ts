/**
 * World v2's one config file (world-v2.config.json): every constant of the mixture, decoder,
 * embedding models and text side, plus the `calibration` block world/tools/world_v2_reference.py
 * writes (text standardisation, embedding standardisation and beta). Retuning is one edit and a
 * rebuild (docs/world-v2.md).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

const block = z.object({ mean: z.array(z.number()), scale: z.number().positive() });
const embeddingModel = z.object({
  eps_scale: z.number().positive(),
  bands_from: z.number().int().min(0).max(5),
  weights: z.record(z.string(), z.number()),
  unrelated_cos: z.number(),
});

const configSchema = z.object({
  seed: z.number().int().nonnegative(),
  latent: z.object({
    size: z.literal(16),
    channels: z.literal(4),
    wavelet_order: z.literal(2),
    wavelet_levels: z.literal(4),
  }),
  text: z.object({
    stop_words: z.string(),
    bg_word_weight: z.number(),
    bg_prior: z.number(),
    neutral_bg_rgb: z.tuple([z.number(), z.number(), z.number()]),
    obj_prior: z.number(),
    count_max: z.number(),
    unknown_texture: z.number(),
    unknown_clutter: z.number(),
    hash_channels: z.number().int().positive(),
    hash_prime: z.number().int().positive(),
    clip_g2: z.number(),
    clip_a2: z.number(),
    clip_b2: z.number(),
    clip_hash_dims: z.number().int().positive(),
  }),
  mixture: z.object({
    K: z.number().int().min(1),
    J: z.number().int().min(1),
    grad: z.number(),
    th: z.number(),
    d_base: z.number(),
    fg_grain: z.number(),
    tex_w: z.number(),
    edge: z.number().positive(),
    floor: z.number().positive(),
    s_struct: z.number(),
    s_tex: z.number(),
    s_fine: z.number(),
    f_l2: z.number(),
    s_grain: z.number(),
    s_fgrain: z.number(),
    chroma: z.number(),
    col_named: z.number(),
    col_free: z.number(),
    bgcol: z.number(),
    colourful: z.number(),
    r_base: z.number(),
    r_count: z.number(),
    size_gain: z.number(),
    radius_jitter: z.number(),
    pos_lo: z.number(),
    pos_hi: z.number(),
    clutter_tex: z.number(),
  }),
  decoder: z.object({
    gain: z.number(),
    g_fine_d: z.number(),
    gl1: z.number(),
    gl2: z.number(),
    texture_sigma_lo: z.number().positive(),
    texture_sigma_hi: z.number().positive(),
    soft_limit: z.number().positive(),
  }),
  eps_base: z.array(z.number().positive()).length(6),
  dreamsim: embeddingModel.extend({
    weights: z.object({ tex: z.number(), ctex: z.number() }).strict(),
  }),
  clip: embeddingModel.extend({
    weights: z.object({ colour: z.number(), tex: z.number(), ctex: z.number() }).strict(),
  }),
  calibration: z.object({
    param_mean: z.array(z.number()).length(17),
    param_std: z.array(z.number().positive()).length(17),
    dreamsim: z.object({ tex: block, ctex: block, beta2: z.number().nonnegative() }),
    clip: z.object({ colour: block, tex: block, ctex: block, beta2: z.number().nonnegative() }),
  }),
});

export type WorldV2Config = z.output<typeof configSchema>;

const HERE = dirname(fileURLToPath(import.meta.url));
const WORLD_V2_CONFIG_PATH = join(HERE, "world-v2.config.json");

/** The committed config, validated (a bad edit fails the build naming the field). */
export function worldV2Config(path = WORLD_V2_CONFIG_PATH): WorldV2Config {
  return configSchema.parse(JSON.parse(readFileSync(path, "utf8")));
}
