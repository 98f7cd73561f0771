/**
 * In-process adapter of the Generator port: the SD pipeline of @budgetfusion/inference (the one
 * the GPU worker serves) used as a library, for local runs on one machine without a worker
 * service.
 */

import { loadModelDir } from "@budgetfusion/inference/pipeline/model-dir";
import { SdPipeline } from "@budgetfusion/inference/pipeline/sd-pipeline";
import { NodeOrtPort } from "@budgetfusion/inference/runtime/ort-node";
import { encodeImagePng } from "@budgetfusion/shared/image/png-image";
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
