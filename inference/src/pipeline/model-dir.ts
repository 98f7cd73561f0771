/**
 * Reads a Stable Diffusion model in the diffusers ONNX layout from a local folder (SPEC §2):
 * model_index.json, scheduler/scheduler_config.json, vae_decoder/config.json (scaling_factor,
 * block_out_channels), tokenizer/ and the three ONNX files. Configuration is read here once and
 * normalised (transformers.js' configs.js pattern); the pipeline never opens files itself.
 */
import { readFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { ConfigError, ModelLoadError } from "@budgetfusion/shared/errors";
import { z } from "zod";

/** diffusers' default VAE scaling factor (SD 1.x / 2.x). */
export const DEFAULT_VAE_SCALING_FACTOR = 0.18215;

const componentRef = z.tuple([z.string().nullable(), z.string().nullable()]);
const modelIndexSchema = z.looseObject({
  _class_name: z.string().optional(),
  text_encoder: componentRef,
  unet: componentRef,
  vae_decoder: componentRef,
  scheduler: componentRef,
  tokenizer: componentRef,
});

const unetConfigSchema = z.looseObject({
  sample_size: z.number().int().positive().optional(),
});

const vaeConfigSchema = z.looseObject({
  scaling_factor: z.number().positive().optional(),
  block_out_channels: z.array(z.number().int().positive()).min(1).optional(),
  latent_channels: z.number().int().positive().optional(),
});

export interface SdModelDir {
  /** Folder name (or the hub id it came from), reported as the model id. */
  readonly id: string;
  readonly root: string;
  readonly modelIndex: z.infer<typeof modelIndexSchema>;
  /** The raw scheduler_config.json object; the Euler scheduler parses it. */
  readonly schedulerConfig: Readonly<Record<string, unknown>>;
  readonly vaeScalingFactor: number;
  /** Pixel size of one latent cell: 2^(len(block_out_channels) - 1), 8 for SD. */
  readonly vaeScaleFactor: number;
  readonly latentChannels: number;
  /** Native image side in pixels: unet sample_size x vaeScaleFactor (768 for SD2-768). */
  readonly defaultImageSize: number;
  /** Absolute path of a file of the model folder. */
  path(relPath: string): string;
  readText(relPath: string): Promise<string>;
}

async function readJson(root: string, rel: string, optional: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(join(root, rel), "utf8");
  } catch (cause) {
    if (optional && (cause as { code?: string }).code === "ENOENT") return undefined;
    throw new ModelLoadError(`cannot read ${rel} in ${root}`, { field: rel, cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ModelLoadError(`${rel} in ${root} is not valid JSON`, { field: rel, cause });
  }
}

function parse<T extends z.ZodType>(schema: T, value: unknown, file: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = issue.path.map(String).join(".");
    throw new ConfigError(`${file}: ${key || "(root)"}: ${issue.message}`, {
      field: key ? `${file}:${key}` : file,
      details: r.error.issues,
    });
  }
  return r.data;
}

/** Loads and validates a diffusers ONNX model folder. `id` defaults to the folder name. */
export async function loadModelDir(dir: string, id?: string): Promise<SdModelDir> {
  const root = resolve(dir);
  const modelIndex = parse(
    modelIndexSchema,
    await readJson(root, "model_index.json", false),
    "model_index.json",
  );
  const schedulerRaw = await readJson(root, "scheduler/scheduler_config.json", false);
  if (typeof schedulerRaw !== "object" || schedulerRaw === null || Array.isArray(schedulerRaw)) {
    throw new ConfigError("scheduler/scheduler_config.json must be a JSON object", {
      field: "scheduler/scheduler_config.json",
    });
  }
  const vae = parse(
    vaeConfigSchema,
    (await readJson(root, "vae_decoder/config.json", true)) ?? {},
    "vae_decoder/config.json",
  );
  const unet = parse(
    unetConfigSchema,
    (await readJson(root, "unet/config.json", true)) ?? {},
    "unet/config.json",
  );
  const vaeScaleFactor = 2 ** ((vae.block_out_channels?.length ?? 4) - 1);
  return Object.freeze({
    id: id ?? basename(root),
    root,
    modelIndex,
    schedulerConfig: Object.freeze({ ...(schedulerRaw as Record<string, unknown>) }),
    vaeScalingFactor: vae.scaling_factor ?? DEFAULT_VAE_SCALING_FACTOR,
    vaeScaleFactor,
    latentChannels: vae.latent_channels ?? 4,
    // diffusers' default sample_size is 64 latents (512 px) when the config has none.
    defaultImageSize: (unet.sample_size ?? 64) * vaeScaleFactor,
    path: (rel: string) => join(root, rel),
    readText: (rel: string) => readFile(join(root, rel), "utf8"),
  });
}
