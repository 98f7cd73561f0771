/**
 * In-process adapter of the Generator port: the gpu-worker SD pipeline used as a library (a
 * relative import of gpu-worker/src; training and gpu-worker otherwise share only shared/,
 * see docs/training.md). For local runs on one machine without a worker service.
 */

import { encodeImagePng } from "../../../gpu-worker/src/image/png";
import { loadModelDir } from "../../../gpu-worker/src/pipeline/model-dir";
import { SdPipeline } from "../../../gpu-worker/src/pipeline/sd-pipeline";
import { NodeOrtPort } from "../../../gpu-worker/src/runtime/ort-node";
import type { GenerationRequest, GenerationResult, Generator } from "./generator";

export class InProcessGenerator implements Generator {
  private constructor(
    private readonly pipeline: SdPipeline,
    readonly modelId: string,
    readonly schedulerConfig: Readonly<Record<string, unknown>>,
  ) {}

  /** Loads a diffusers-ONNX model folder (SPEC §2) on the given execution providers. */
  static async load(
    modelDir: string,
    executionProviders: readonly string[] = ["cpu"],
  ): Promise<InProcessGenerator> {
    const model = await loadModelDir(modelDir);
    const pipeline = await SdPipeline.load(new NodeOrtPort(executionProviders), model);
    return new InProcessGenerator(pipeline, model.id, model.schedulerConfig);
  }

  async generate(request: GenerationRequest): Promise<GenerationResult> {
    const started = performance.now();
    const result = await this.pipeline.generate({
      prompts: [request.prompt],
      negativePrompt: request.negativePrompt,
      steps: request.steps,
      guidanceScale: request.guidanceScale,
      width: request.width,
      height: request.height,
      seed: request.seed,
      scheduler: request.scheduler,
    });
    const png = encodeImagePng(result.image, result.imageDims, 0);
    return { png, ms: performance.now() - started };
  }

  close(): Promise<void> {
    return this.pipeline.dispose();
  }
}
