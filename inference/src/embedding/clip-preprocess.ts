/**
 * CLIPImageProcessor-equivalent preprocessing (SPEC §3, I-CLIP and D-SIM inputs): resize the
 * shortest edge with antialiased bicubic, centre crop, rescale, normalise, as transformers'
 * CLIPImageProcessor does with the model's preprocessor_config.json. The default resize flavour
 * is the fast (torchvision) processor's, transformers 5's default; "pillow" gives the slow one's.
 */
import { ConfigError } from "@budgetfusion/shared/errors";
import { z } from "zod";
import { type ResizeFlavor, type Rgb8Image, resizeBicubic } from "./bicubic-resize";

const sizeSchema = z.union([
  z.object({ shortest_edge: z.number().int().positive() }),
  z.object({ height: z.number().int().positive(), width: z.number().int().positive() }),
]);

/** The keys of preprocessor_config.json this module honours, with transformers' defaults. */
const preprocessorConfigSchema = z.object({
  do_resize: z.boolean().default(true),
  size: sizeSchema.default({ shortest_edge: 224 }),
  resample: z.number().int().default(3),
  do_center_crop: z.boolean().default(true),
  crop_size: z
    .object({ height: z.number().int().positive(), width: z.number().int().positive() })
    .default({ height: 224, width: 224 }),
  do_rescale: z.boolean().default(true),
  rescale_factor: z
    .number()
    .positive()
    .default(1 / 255),
  do_normalize: z.boolean().default(true),
  image_mean: z.array(z.number()).length(3).default([0.48145466, 0.4578275, 0.40821073]),
  image_std: z.array(z.number().positive()).length(3).default([0.26862954, 0.26130258, 0.27577711]),
  /**
   * BudgetFusion's own key (not transformers'): which bicubic the model was trained with.
   * "torchvision" (default) = transformers' fast CLIP processor; "pillow" = PIL, e.g. DreamSim's
   * torchvision.transforms.Resize on PIL images (docs/training.md).
   */
  resample_backend: z.enum(["torchvision", "pillow"]).default("torchvision"),
});
export type PreprocessorConfig = z.infer<typeof preprocessorConfigSchema>;

/** Parses preprocessor_config.json; only bicubic (PIL resample 3) is implemented. */
export function parsePreprocessorConfig(raw: unknown): PreprocessorConfig {
  const parsed = preprocessorConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`preprocessor_config.json: ${issue.message}`, {
      field: issue.path.join("."),
    });
  }
  if (parsed.data.do_resize && parsed.data.resample !== 3) {
    throw new ConfigError(`resample ${parsed.data.resample} is not supported (only 3 = bicubic)`, {
      field: "resample",
    });
  }
  return parsed.data;
}

/** transformers' get_resize_output_image_size(default_to_square=False) for a shortest edge. */
function resizeTarget(img: Rgb8Image, cfg: PreprocessorConfig): { width: number; height: number } {
  if ("height" in cfg.size) return { width: cfg.size.width, height: cfg.size.height };
  const short = cfg.size.shortest_edge;
  if (img.width <= img.height) {
    return { width: short, height: Math.trunc((short * img.height) / img.width) };
  }
  return { width: Math.trunc((short * img.width) / img.height), height: short };
}

/** Model input size [height, width] after preprocessing an image of `img` size. */
export function outputSize(
  img: { width: number; height: number },
  cfg: PreprocessorConfig,
): [number, number] {
  if (cfg.do_center_crop) return [cfg.crop_size.height, cfg.crop_size.width];
  if (!cfg.do_resize) return [img.height, img.width];
  const t = resizeTarget({ ...img, data: new Uint8Array(0) }, cfg);
  return [t.height, t.width];
}

/** transformers' center_crop: offsets `int((orig - crop) / 2)`; pads with zeros when smaller. */
function centerCrop(img: Rgb8Image, width: number, height: number): Rgb8Image {
  const top = Math.floor((img.height - height) / 2);
  const left = Math.floor((img.width - width) / 2);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = y + top;
    if (sy < 0 || sy >= img.height) continue;
    for (let x = 0; x < width; x++) {
      const sx = x + left;
      if (sx < 0 || sx >= img.width) continue;
      const s = (sy * img.width + sx) * 3;
      const o = (y * width + x) * 3;
      out[o] = img.data[s];
      out[o + 1] = img.data[s + 1];
      out[o + 2] = img.data[s + 2];
    }
  }
  return { width, height, data: out };
}

/**
 * pixel_values for one image: float32 `[3, cropH, cropW]` (channel-first), normalised.
 * The 8-bit intermediate is kept because both resamplers return 8-bit images.
 */
export function preprocessImage(
  img: Rgb8Image,
  cfg: PreprocessorConfig,
  flavor: ResizeFlavor = cfg.resample_backend,
): Float32Array {
  let cur = img;
  if (cfg.do_resize) {
    const t = resizeTarget(cur, cfg);
    cur = resizeBicubic(cur, t.width, t.height, flavor);
  }
  if (cfg.do_center_crop) cur = centerCrop(cur, cfg.crop_size.width, cfg.crop_size.height);
  const plane = cur.width * cur.height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const mean = cfg.do_normalize ? cfg.image_mean[c] : 0;
    const std = cfg.do_normalize ? cfg.image_std[c] : 1;
    const scale = cfg.do_rescale ? cfg.rescale_factor : 1;
    for (let i = 0; i < plane; i++) out[c * plane + i] = (cur.data[i * 3 + c] * scale - mean) / std;
  }
  return out;
}
