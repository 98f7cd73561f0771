/**
 * In-process adapter of the Generator port: the SD pipeline of @budgetfusion/inference (the one
 * the GPU worker serves) used as a library, for local runs on one machine without a worker
 * service.
 */

import { loadModelDir } from "@budgetfusion/inference/pipeline/model-dir";
import { SdPipeline } from "@budgetfusion/inference/pipeline/sd-pipeline";
import { NodeOrtPort } from "@budgetfusion/inference/runtime/ort-node";
import { ValidationError } from "@budgetfusion/shared/errors";
import { encodeImagePng } from "@budgetfusion/shared/image/png-image";
import { seededLatents } from "@budgetfusion/shared/random/seeded-random";
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

  /**
   * One pipeline call for the batch. Each image starts from the noise its own seed draws at
   * batch 1 (seededLatents with [1, C, h, w]), so a batched dataset holds the images a batch-1
   * run would, up to the float rounding of batched ONNX kernels (tested within one 8-bit level).
   */
  async generateBatch(requests: readonly GenerationRequest[]): Promise<GenerationResult[]> {
    const [first] = requests;
    if (first === undefined) return [];
    for (const [i, r] of requests.entries()) {
      for (const field of ["steps", "guidanceScale", "width", "height", "negativePrompt"] as const)
        if (r[field] !== first[field])
          throw new ValidationError(`batched requests must share ${field}; request ${i} differs`, {
            field,
          });
      if (JSON.stringify(r.scheduler) !== JSON.stringify(first.scheduler))
        throw new ValidationError(`batched requests must share scheduler; request ${i} differs`, {
          field: "scheduler",
        });
    }
    const started = performance.now();
    const { latentChannels: c, vaeScaleFactor: f } = this.pipeline.model;
    const one = [1, c, first.height / f, first.width / f];
    const perImage = one[1] * one[2] * one[3];
    const latents = new Float32Array(requests.length * perImage);
    for (const [i, r] of requests.entries()) latents.set(seededLatents(r.seed, one), i * perImage);
    const result = await this.pipeline.generate({
      prompts: requests.map((r) => r.prompt),
      negativePrompt: first.negativePrompt,
      steps: first.steps,
      guidanceScale: first.guidanceScale,
      width: first.width,
      height: first.height,
      latents,
      scheduler: first.scheduler,
    });
    const [, h, w, ch] = result.imageDims;
    const size = h * w * ch;
    const pngs = requests.map((_, i) =>
      encodeImagePng(result.image.subarray(i * size, (i + 1) * size), [1, h, w, ch], 0),
    );
    // The batch's wall time shared equally: what one image cost in this mode.
    const ms = (performance.now() - started) / requests.length;
    return pngs.map((png) => ({ png, ms }));
  }

  close(): Promise<void> {
    return this.pipeline.dispose();
  }
}
