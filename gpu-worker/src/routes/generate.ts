/**
 * POST /v1/generate (SPEC §7 GPU worker): validate, queue, run the pipeline, answer image/png with
 * x-bf-* metadata headers, or JSON {image_base64, ...} when the client accepts application/json.
 * The job is tracked under its job_id (progress, cancel: routes/jobs.ts) and, with webhook_url,
 * announces its start and its end.
 */
import { randomInt, randomUUID } from "node:crypto";
import { ConfigError, ValidationError } from "@budgetfusion/shared/errors";
import { parseSchedulerConfig } from "@budgetfusion/shared/schedulers/scheduler-config";
import {
  GENERATE_HEADERS,
  type GenerateJsonResponse,
  type GenerateTimings,
  generateRequestSchema,
  WEBHOOK_EVENTS,
  type WebhookEvent,
} from "@budgetfusion/shared/schemas/worker-api";
import { createFactory } from "hono/factory";
import { DEFAULT_LIMITS, type RequestLimits } from "../config";
import { NotReadyError } from "../http-errors";
import type { JobRegistry } from "../jobs/job-registry";
import type { WebhookSender } from "../jobs/webhook-sender";
import type { PngEncoder } from "../png/png-encoder";
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

/** The job's event sender: a no-op without webhook_url; a 400 when this worker cannot sign. */
function webhookNotifier(
  sender: WebhookSender | undefined,
  url: string | undefined,
  events: readonly WebhookEvent[] = WEBHOOK_EVENTS,
): (event: WebhookEvent, data: unknown) => void {
  if (url === undefined) return () => {};
  if (sender === undefined) {
    throw new ValidationError("this worker has no WORKER_WEBHOOK_SECRET to sign webhooks with", {
      field: "webhook_url",
    });
  }
  return (event, data) => {
    if (events.includes(event)) sender.send(url, event, data);
  };
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

export function generateHandlers(deps: WorkerDeps & { jobs: JobRegistry; png: PngEncoder }) {
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
      const notify = webhookNotifier(deps.webhooks, req.webhook_url, req.webhook_events);
      const job = deps.jobs.track(req.job_id ?? randomUUID(), req.steps);
      const json = wantsJson(c.req.header("accept"));
      const produce = async () => {
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
              onProgress: (p) => {
                const first = !job.started;
                job.onStep(p);
                if (first) notify("job.started", job.progress());
              },
            }),
          // Client gone, deadline and DELETE /v1/jobs/:id all stop it at the next step boundary.
          {
            signal: AbortSignal.any([c.req.raw.signal, job.signal]),
            timeoutMs: deps.requestTimeoutMs,
          },
        );
        deps.metrics.imageSeconds.observe(result.timings.totalMs / 1000);
        // PNG answers carry the first image only; JSON carries the whole batch.
        const pngs = await Promise.all(
          (json ? prompts : prompts.slice(0, 1)).map((_, i) =>
            deps.png.encode(result.image, result.imageDims, i),
          ),
        );
        const timings: GenerateTimings = {
          queue_ms: queueMs,
          text_ms: result.timings.textMs,
          unet_ms: result.timings.unetMs,
          vae_ms: result.timings.vaeMs,
          total_ms: performance.now() - accepted,
          ...(result.batch === undefined
            ? {}
            : {
                batch_wait_ms: result.batch.joinWaitMs,
                mean_batch_rows: result.batch.meanCallRows,
                unet_share_ms: result.batch.unetShareMs,
              }),
        };
        return { pngs, timings };
      };
      let produced: Awaited<ReturnType<typeof produce>>;
      try {
        produced = await produce();
      } catch (err) {
        deps.jobs.release(job, err);
        notify("job.completed", job.progress());
        throw err;
      }
      const { pngs, timings } = produced;
      deps.jobs.release(job);
      notify("job.completed", { ...job.progress(), seed, model: generator.modelId, timings });
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
        c.header(GENERATE_HEADERS.jobId, job.id);
        return c.json(body);
      }
      return c.body(pngs[0] as Uint8Array<ArrayBuffer>, 200, {
        "content-type": "image/png",
        [GENERATE_HEADERS.steps]: String(req.steps),
        [GENERATE_HEADERS.seed]: String(seed),
        [GENERATE_HEADERS.model]: generator.modelId,
        [GENERATE_HEADERS.timings]: JSON.stringify(timings),
        [GENERATE_HEADERS.jobId]: job.id,
        "x-bf-batch": String(prompts.length),
      });
    },
  );
}
