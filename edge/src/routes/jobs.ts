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
import { getJob, insertJob, type JobRow } from "../db/queries/jobs";
import { DISPATCHER_NAME } from "../dispatch/dispatcher";
import type { WorkerGenerateBody } from "../dispatch/worker-call";
import { BODY_LIMITS, limitBody } from "../middleware/body-limit";
import { currentVersion } from "../predictor/active-predictor";
import { computeBudget } from "../predictor/budget";
import { readBlob } from "../storage/r2-blob-store";
import { activePredictor, deferTo, errorResponse, jsonBody } from "./common";

const jobIdParams = z.object({ id: z.uuid() });

const generate = createRoute({
  method: "post",
  path: "/v1/generate",
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
    413: errorResponse(`Body over ${BODY_LIMITS.generate} bytes`),
    503: errorResponse("steps 'auto' without an active predictor"),
  },
});

const jobStatus = createRoute({
  method: "get",
  path: "/v1/jobs/{id}",
  request: { params: jobIdParams },
  responses: {
    200: {
      description: "Job state",
      content: { "application/json": { schema: jobResponseSchema } },
    },
    404: errorResponse("Unknown job"),
  },
});

const image = createRoute({
  method: "get",
  path: "/v1/images/{id}",
  request: { params: jobIdParams },
  responses: {
    200: {
      description: "The PNG",
      content: { "image/png": { schema: z.string().meta({ format: "binary" }) } },
    },
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

async function resolveSteps(c: Context<AppEnv>, req: z.infer<typeof generateRequestSchema>) {
  if (req.steps === "auto") {
    const { version, predictor } = await activePredictor(c);
    const { response: budget } = await computeBudget(
      c.var.db,
      predictor,
      version,
      { prompt: req.prompt },
      deferTo(c),
    );
    return { steps: budget.steps, source: "auto" as const, version, manifest: predictor.manifest };
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
    await insertJob(c.var.db, {
      id,
      status: "queued",
      request: JSON.stringify(body),
      steps: resolved.steps,
      stepsSource: resolved.source,
      seed,
      predictorVersion: resolved.version ?? null,
      createdAt: Date.now(),
    });
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
    const job = await getJob(c.var.db, id);
    if (job === undefined) throw new NotFoundError(`no job ${id}`, { field: "id" });
    return c.json(jobView(job), 200);
  });

  app.openapi(image, async (c) => {
    const { id } = c.req.valid("param");
    const job = await getJob(c.var.db, id);
    if (job === undefined || job.imageKey === null) {
      throw new NotFoundError(`no image for job ${id}`, { field: "id" });
    }
    const png = await readBlob(c.env.BLOBS, job.imageKey);
    return c.body(png, 200, {
      "content-type": "image/png",
      "cache-control": "public, max-age=31536000, immutable",
    });
  });
}
