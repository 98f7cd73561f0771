/**
 * Generation jobs: POST /v1/generate (steps "auto" = the active predictor's t*), GET
 * /v1/jobs/:id, GET /v1/images/:id. Jobs are written to D1 first and then handed to the
 * dispatcher Durable Object, so an accepted job survives any later failure (SPEC §7).
 */
import { NotFoundError } from "@budgetfusion/shared/errors";
import {
  acceptedResponseSchema,
  generateQuerySchema,
  generateRequestSchema,
  jobResponseSchema,
} from "@budgetfusion/shared/schemas/edge-api";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv, EdgeApp } from "../app-env";
import { serveBudget } from "../canary/serve-budget";
import { getJob, insertJob, type JobRow } from "../db/queries/jobs";
import { jobOwner } from "../db/queries/usage";
import { DISPATCHER_NAME } from "../dispatch/dispatcher";
import type { WorkerGenerateBody } from "../dispatch/worker-call";
import { consumerOf } from "../keys/consumer-auth";
import { reserveJobSlot } from "../limits/job-slots";
import { afterResponse } from "../middleware/after-response";
import { BODY_LIMITS, limitBody } from "../middleware/body-limit";
import { currentVersion } from "../predictor/active-predictor";
import { readBlob } from "../storage/r2-blob-store";
import { recordJobAccepted } from "../usage/record-usage";
import { activePredictor, budgetContext, errorResponse, jsonBody } from "./common";
import { CONSUMER_SECURITY, rateLimited, unauthorized } from "./consumer-openapi";

const jobIdParams = z.object({ id: z.uuid() });

const generate = createRoute({
  method: "post",
  path: "/v1/generate",
  security: CONSUMER_SECURITY,
  summary: "Generate an image with t* (or fixed) steps on a GPU worker",
  middleware: limitBody(BODY_LIMITS.generate),
  request: { body: jsonBody(generateRequestSchema), query: generateQuerySchema },
  responses: {
    200: {
      description: "Finished within ?wait",
      content: { "application/json": { schema: jobResponseSchema } },
    },
    202: {
      description: "Accepted",
      content: { "application/json": { schema: acceptedResponseSchema } },
    },
    400: errorResponse("Invalid input; error.field names the field"),
    401: unauthorized,
    413: errorResponse(`Body over ${BODY_LIMITS.generate} bytes`),
    429: rateLimited("generations_per_minute", "concurrent_jobs"),
    503: errorResponse("steps 'auto' without an active predictor"),
  },
});

const jobStatus = createRoute({
  method: "get",
  path: "/v1/jobs/{id}",
  security: CONSUMER_SECURITY,
  request: { params: jobIdParams },
  responses: {
    200: {
      description: "Job state",
      content: { "application/json": { schema: jobResponseSchema } },
    },
    401: unauthorized,
    404: errorResponse("Unknown job"),
  },
});

const image = createRoute({
  method: "get",
  path: "/v1/images/{id}",
  security: CONSUMER_SECURITY,
  request: { params: jobIdParams },
  responses: {
    200: {
      description: "The PNG",
      content: { "image/png": { schema: z.string().meta({ format: "binary" }) } },
    },
    401: unauthorized,
    404: errorResponse("Unknown job or not finished"),
  },
});

function jobView(job: JobRow) {
  return {
    job_id: job.id,
    status: job.status,
    steps: job.steps,
    steps_source: job.stepsSource,
    seed: job.seed,
    attempt: job.attempt,
    predictor_version: job.predictorVersion,
    worker: job.workerId,
    timings: job.timings === null ? null : (JSON.parse(job.timings) as Record<string, unknown>),
    image_url: job.status === "succeeded" ? `/v1/images/${job.id}` : null,
    ...(job.status === "failed" && job.errorCode !== null
      ? { error: { code: job.errorCode, message: job.errorMessage ?? "" } }
      : {}),
  };
}

function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/**
 * The job when the calling consumer owns it: another key's job is a 404, as if it did not
 * exist. Jobs from before job ownership (no owner row) stay readable.
 */
async function consumersJob(c: Context<AppEnv>, id: string): Promise<JobRow | undefined> {
  const [job, owner] = await Promise.all([getJob(c.var.db, id), jobOwner(c.var.db, id)]);
  if (owner !== undefined && owner.keyId !== consumerOf(c).keyId) return undefined;
  return job;
}

async function resolveSteps(c: Context<AppEnv>, req: z.infer<typeof generateRequestSchema>) {
  if (req.steps === "auto") {
    const served = await serveBudget(budgetContext(c), await activePredictor(c), {
      prompt: req.prompt,
    });
    return {
      steps: served.budget.steps,
      source: "auto" as const,
      version: served.budget.predictor_version,
      manifest: served.predictor.manifest,
    };
  }
  const version = await currentVersion(c.var.db);
  if (version === undefined) return { steps: req.steps, source: "fixed" as const };
  const { predictor } = await activePredictor(c);
  return { steps: req.steps, source: "fixed" as const, version, manifest: predictor.manifest };
}

export function registerJobRoutes(app: EdgeApp) {
  app.openapi(generate, async (c) => {
    const req = c.req.valid("json");
    const { wait } = c.req.valid("query");
    const resolved = await resolveSteps(c, req);
    const seed = req.seed ?? randomSeed();
    const generation = resolved.manifest?.diffusion_model.generation;
    const body: WorkerGenerateBody & { model_id?: string } = {
      prompt: req.prompt,
      negative_prompt: req.negative_prompt,
      steps: resolved.steps,
      // Unset settings default to those the predictor's dataset used (its budget holds there).
      guidance_scale: req.guidance_scale ?? generation?.guidance_scale,
      seed,
      width: req.width ?? generation?.width,
      height: req.height ?? generation?.height,
      // Generation uses the scheduler configuration the predictor's dataset used (SPEC §2).
      scheduler: resolved.manifest?.diffusion_model.scheduler_config,
      model_id: resolved.manifest?.diffusion_model.id,
    };
    const id = crypto.randomUUID();
    const consumer = consumerOf(c);
    const now = Date.now();
    // The slot under the key's concurrent-jobs cap (429 when full) is taken before the job exists.
    await reserveJobSlot(c.var.db, consumer, id, now);
    await insertJob(c.var.db, {
      id,
      status: "queued",
      request: JSON.stringify(body),
      steps: resolved.steps,
      stepsSource: resolved.source,
      seed,
      predictorVersion: resolved.version ?? null,
      createdAt: now,
    });
    afterResponse(c, "job usage", recordJobAccepted(c.var.db, consumer, resolved.steps, now));
    const dispatcher = c.env.DISPATCHER.get(c.env.DISPATCHER.idFromName(DISPATCHER_NAME));
    await dispatcher.wake();
    if (wait !== undefined && wait > 0) await dispatcher.waitFor(id, wait * 1000);
    const job = await getJob(c.var.db, id);
    if (job !== undefined && (job.status === "succeeded" || job.status === "failed")) {
      return c.json(jobView(job), 200);
    }
    return c.json({ job_id: id, status: job?.status ?? ("queued" as const) }, 202, {
      location: `/v1/jobs/${id}`,
    });
  });

  app.openapi(jobStatus, async (c) => {
    const { id } = c.req.valid("param");
    const job = await consumersJob(c, id);
    if (job === undefined) throw new NotFoundError(`no job ${id}`, { field: "id" });
    return c.json(jobView(job), 200);
  });

  app.openapi(image, async (c) => {
    const { id } = c.req.valid("param");
    const job = await consumersJob(c, id);
    if (job === undefined || job.imageKey === null) {
      throw new NotFoundError(`no image for job ${id}`, { field: "id" });
    }
    const png = await readBlob(c.env.BLOBS, job.imageKey);
    return c.body(png, 200, {
      "content-type": "image/png",
      // Only the key that made it may read it: no shared caches.
      "cache-control": "private, max-age=31536000, immutable",
    });
  });
}
