/**
 * Image embeddings for D-SIM and I-CLIP (SPEC §3): any image-embedding ONNX model with a
 * transformers-style preprocessor_config.json. Model folder layouts accepted, first match wins:
 * `onnx/vision_model.onnx` (transformers.js CLIP), `onnx/model.onnx`, `model.onnx`
 * (e.g. a DreamSim export, docs/training.md). Input: the model's single image input
 * (`pixel_values` for CLIP) `[B, 3, H, W]`; output: `image_embeds` when present, else the first
 * output, `[B, D]`.
 */
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ModelLoadError, ShapeError } from "@budgetfusion/shared/errors";
import type { OrtPort, PortSession } from "@budgetfusion/shared/runtime/ort-port";
import type { Rgb8Image } from "./bicubic-resize";
import {
  outputSize,
  type PreprocessorConfig,
  parsePreprocessorConfig,
  preprocessImage,
} from "./clip-preprocess";

const IMAGE_MODEL_FILES = ["onnx/vision_model.onnx", "onnx/model.onnx", "model.onnx"];

/** `image_embeds` when the model has it, else its first output. */
function outputName(session: PortSession): string {
  return session.outputs.some((o) => o.name === "image_embeds")
    ? "image_embeds"
    : session.outputs[0].name;
}

export interface ImageEmbedder {
  readonly width: number;
  /** Embeddings `[images.length, width]` row-major (not normalised). */
  embed(images: readonly Rgb8Image[]): Promise<Float32Array>;
  /** Embeddings of already preprocessed pixel values `[B, 3, H, W]` (H, W default: the crop). */
  embedPixels(pixels: Float32Array, batch: number, size?: [number, number]): Promise<Float32Array>;
  release(): Promise<void>;
}

/** An image-embedding session plus the preprocessing its folder's config describes. */
export class OnnxImageEmbedder implements ImageEmbedder {
  private readonly input: string;
  private readonly output: string;
  private constructor(
    private readonly session: PortSession,
    private readonly config: PreprocessorConfig,
    readonly width: number,
  ) {
    this.input = session.inputs[0].name;
    this.output = outputName(session);
  }

  /** Wraps a session; the width comes from one probe run on a blank image. */
  static async create(
    session: PortSession,
    config: PreprocessorConfig,
  ): Promise<OnnxImageEmbedder> {
    const [h, w] = outputSize({ width: 224, height: 224 }, config);
    const res = await session.run(
      {
        [session.inputs[0].name]: {
          type: "float32",
          data: new Float32Array(3 * h * w),
          dims: [1, 3, h, w],
        },
      },
      [outputName(session)],
    );
    return new OnnxImageEmbedder(session, config, Object.values(res)[0].data.length);
  }

  async embedPixels(
    pixels: Float32Array,
    batch: number,
    size?: [number, number],
  ): Promise<Float32Array> {
    const [h, w] = size ?? [this.config.crop_size.height, this.config.crop_size.width];
    if (pixels.length !== batch * 3 * h * w) {
      throw new ShapeError(
        `pixel_values have ${pixels.length} values, expected ${batch}x3x${h}x${w}`,
        {
          field: "pixel_values",
        },
      );
    }
    const dims = [batch, 3, h, w];
    const res = await this.session.run({ [this.input]: { type: "float32", data: pixels, dims } }, [
      this.output,
    ]);
    const out = res[this.output];
    if (out.data.length !== batch * this.width) {
      throw new ShapeError(
        `${this.output} has ${out.data.length} values, expected ${batch}x${this.width}`,
        {
          field: this.output,
        },
      );
    }
    return out.data as Float32Array;
  }

  async embed(images: readonly Rgb8Image[]): Promise<Float32Array> {
    const out = new Float32Array(images.length * this.width);
    const chunk = 16;
    for (let s = 0; s < images.length; s += chunk) {
      const batch = images.slice(s, s + chunk);
      const part = batch.map((img) => preprocessImage(img, this.config));
      const pixels = new Float32Array(part.reduce((n, p) => n + p.length, 0));
      for (const [i, p] of part.entries()) pixels.set(p, i * p.length);
      // one batch shares a size: the dataset's images all have the run's width x height
      out.set(
        await this.embedPixels(pixels, part.length, outputSize(batch[0], this.config)),
        s * this.width,
      );
    }
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

async function firstExisting(dir: string, files: readonly string[]): Promise<string | undefined> {
  for (const f of files) {
    try {
      await access(join(dir, f));
      return join(dir, f);
    } catch {
      // try the next layout
    }
  }
  return undefined;
}

/** Loads an image-embedding model folder (see module header). */
export async function loadImageEmbedder(
  ort: OrtPort,
  dir: string,
  field = "model",
): Promise<ImageEmbedder> {
  const modelPath = await firstExisting(dir, IMAGE_MODEL_FILES);
  if (!modelPath) {
    throw new ModelLoadError(`${dir} has none of ${IMAGE_MODEL_FILES.join(", ")}`, { field });
  }
  let config: PreprocessorConfig;
  try {
    config = parsePreprocessorConfig(
      JSON.parse(await readFile(join(dir, "preprocessor_config.json"), "utf8")),
    );
  } catch (cause) {
    throw new ModelLoadError(`cannot load ${join(dir, "preprocessor_config.json")}`, {
      field,
      cause,
    });
  }
  return OnnxImageEmbedder.create(await ort.createSession(await readFile(modelPath)), config);
}
