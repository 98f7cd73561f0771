/**
 * POST /v1/generate (SPEC §7 GPU worker): validate, queue, run the pipeline, answer image/png with
 * x-bf-* metadata headers, or JSON {image_base64, ...} when the client accepts application/json.
 */
import { randomInt } from "node:crypto";
import { ConfigError, ValidationError } from "@budgetfusion/shared/errors";
import { encodeImagePng } from "@budgetfusion/shared/image/png-image";
import { parseSchedulerConfig } from "@budgetfusion/shared/schedulers/scheduler-config";
import {
  GENERATE_HEADERS,
  type GenerateJsonResponse,
  type GenerateTimings,
  generateRequestSchema,
} from "@budgetfusion/shared/schemas/worker-api";
import { createFactory } from "hono/factory";
import { DEFAULT_LIMITS, type RequestLimits } from "../config";
import { NotReadyError } from "../http-errors";
import { BODY_LIMITS, limitBody } from "./body-limit";
import type { WorkerDeps } from "./deps";
import { jsonBody } from "./validate";

/** Merges overrides over the model's scheduler config now, so a bad key is a 400 naming it. */
function checkScheduler(
  base: Readonly<Record<string, unknown>>,
  overrides?: Record<string, unknown>,
) {
  if (overrides === undefined) return;
  try {
    parseSchedulerConfig(base, overrides);
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new ValidationError(err.message, { field: `scheduler.${err.field ?? ""}` });
    }
    throw err;
  }
}

/** Refuses work past the per-request bounds before it is queued (issue 12, finding 1). */
function checkWorkBounds(
  limits: RequestLimits,
  images: number,
  width: number,
  height: number,
  steps: number,
) {
  const pixels = images * width * height;
  if (pixels > limits.maxBatchPixels) {
    throw new ValidationError(
      `${images} image(s) of ${width}x${height} are ${pixels} pixels, over this worker's bound of ${limits.maxBatchPixels} (WORKER_MAX_BATCH_PIXELS)`,
      { field: "width" },
    );
  }
  if (pixels * steps > limits.maxPixelSteps) {
    throw new ValidationError(
      `${images} x ${width}x${height} x ${steps} steps is ${pixels * steps} pixel-steps, over this worker's bound of ${limits.maxPixelSteps} (WORKER_MAX_PIXEL_STEPS)`,
      { field: "steps" },
    );
  }
}

function wantsJson(accept: string | undefined): boolean {
  return accept !== undefined && /application\/json/i.test(accept) && !/image\/png/i.test(accept);
}

export function generateHandlers(deps: WorkerDeps) {
  return createFactory().createHandlers(
    limitBody(BODY_LIMITS.generate),
    jsonBody(generateRequestSchema),
    async (c) => {
      const accepted = performance.now();
      const req = c.req.valid("json");
      const generator = deps.state.generator;
      if (generator === undefined) throw new NotReadyError();
      checkScheduler(generator.schedulerConfig, req.scheduler);
      const prompts = Array.isArray(req.prompt) ? req.prompt : [req.prompt];
      const width = req.width ?? generator.defaultSize;
      const height = req.height ?? generator.defaultSize;
      checkWorkBounds(deps.limits ?? DEFAULT_LIMITS, prompts.length, width, height, req.steps);
      const seed = req.seed ?? (deps.randomSeed ?? (() => randomInt(0, 2 ** 32)))();
      const { value: result, queueMs } = await deps.queue.run(
        (signal) =>
          generator.generate({
            prompts,
            negativePrompt: req.negative_prompt,
            steps: req.steps,
            guidanceScale: req.guidance_scale,
            height,
            width,
            seed,
            scheduler: req.scheduler,
            signal,
            onStep: (_i, ms) => deps.metrics.stepSeconds.observe(ms / 1000),
          }),
        { signal: c.req.raw.signal, timeoutMs: deps.requestTimeoutMs },
      );
      deps.metrics.imageSeconds.observe(result.timings.totalMs / 1000);
      const json = wantsJson(c.req.header("accept"));
      // PNG answers carry the first image only; JSON carries the whole batch.
      const pngs = (json ? prompts : prompts.slice(0, 1)).map((_, i) =>
        encodeImagePng(result.image, result.imageDims, i),
      );
      const timings: GenerateTimings = {
        queue_ms: queueMs,
        text_ms: result.timings.textMs,
        unet_ms: result.timings.unetMs,
        vae_ms: result.timings.vaeMs,
        total_ms: performance.now() - accepted,
      };
      if (json) {
        const images = pngs.map((p) => Buffer.from(p).toString("base64"));
        const body: GenerateJsonResponse = {
          image_base64: images[0],
          images_base64: images,
          steps: req.steps,
          seed,
          model: generator.modelId,
          timings,
        };
        return c.json(body);
      }
      return c.body(pngs[0] as Uint8Array<ArrayBuffer>, 200, {
        "content-type": "image/png",
        [GENERATE_HEADERS.steps]: String(req.steps),
        [GENERATE_HEADERS.seed]: String(seed),
        [GENERATE_HEADERS.model]: generator.modelId,
        [GENERATE_HEADERS.timings]: JSON.stringify(timings),
        "x-bf-batch": String(prompts.length),
      });
    },
  );
}
