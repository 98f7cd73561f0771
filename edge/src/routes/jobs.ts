/**
 * Generation jobs: POST /v1/generate (steps "auto" = the active predictor's t*), GET
 * /v1/jobs/:id, GET /v1/images/:id. Jobs are written to D1 first and then handed to the
 * dispatcher Durable Object, so an accepted job survives any later failure (SPEC §7).
 * Admission control: a job is accepted only while a worker of its model is alive (else 503)
 * and fewer than JOB_QUEUE_LIMIT jobs of that model wait (else 429), both with Retry-After;
 * an Idempotency-Key makes a retried POST return the job the first one created.
 */
import {
  NotFoundError,
  NoWorkersError,
  QueueFullError,
  ValidationError,
} from "@budgetfusion/shared/errors";
import {
  acceptedResponseSchema,
  generateQuerySchema,
  generateRequestSchema,
  idempotencyKeySchema,
  jobResponseSchema,
} from "@budgetfusion/shared/schemas/edge-api";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv, EdgeApp } from "../app-env";
import { serveBudget } from "../canary/serve-budget";
import { countQueued, getJob, insertJob, type JobRow } from "../db/queries/jobs";
import { jobOwner } from "../db/queries/usage";
import { aliveWorkers } from "../db/queries/workers";
import { DISPATCHER_NAME } from "../dispatch/dispatcher";
import type { StoredJobRequest } from "../dispatch/worker-call";
import { consumerOf } from "../keys/consumer-auth";
import { reserveJobSlot } from "../limits/job-slots";
import { afterResponse } from "../middleware/after-response";
import { BODY_LIMITS, limitBody } from "../middleware/body-limit";
import { currentVersion } from "../predictor/active-predictor";
import { readBlob } from "../storage/r2-blob-store";
import { recordJobAccepted } from "../usage/record-usage";
import { activePredictor, budgetContext, errorResponse, jsonBody } from "./common";
import { CONSUMER_SECURITY, unauthorized } from "./consumer-openapi";

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
    429: errorResponse(
      "rate_limited: past this key's generations_per_minute or concurrent_jobs (error.details.limit names it), or queue_full: JOB_QUEUE_LIMIT jobs of this model are queued; Retry-After says when to try again",
    ),
    503: errorResponse(
      "steps 'auto' without an active predictor, or no GPU worker alive for the model (Retry-After)",
    ),
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

/** Public messages per error code: raw worker answers and worker ids stay internal. */
const PUBLIC_ERRORS: Record<string, string> = {
  upstream_rejected: "a GPU worker rejected the generation request",
  deadline_exceeded: "no GPU worker completed the job within its deadline",
};

function jobView(job: JobRow) {
  return {
    job_id: job.id,
    status: job.status,
    steps: job.steps,
    steps_source: job.stepsSource,
    seed: job.seed,
    attempt: job.attempt,
    predictor_version: job.predictorVersion,
    timings: job.timings === null ? null : (JSON.parse(job.timings) as Record<string, unknown>),
    image_url: job.status === "succeeded" ? `/v1/images/${job.id}` : null,
    ...(job.status === "failed" && job.errorCode !== null
      ? {
          error: {
            code: job.errorCode,
            message: PUBLIC_ERRORS[job.errorCode] ?? "the job failed",
          },
        }
      : {}),
  };
}

/**
 * The job id an Idempotency-Key names: a UUID (version 8, RFC 9562 "custom") from its SHA-256,
 * so a repeated key finds the row by primary key and two racing POSTs cannot both insert.
 */
async function idempotentJobId(key: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`generate\n${key}`)),
  );
  const b = digest.subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x80;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function idempotencyKey(c: Context<AppEnv>): string | undefined {
  const raw = c.req.header("idempotency-key");
  if (raw === undefined) return undefined;
  const parsed = idempotencyKeySchema.safeParse(raw);
  if (!parsed.success) {
    throw new ValidationError(`Idempotency-Key: ${parsed.error.issues[0].message}`, {
      field: "Idempotency-Key",
    });
  }
  return parsed.data;
}

/** 503 when no worker of the model is alive, 429 when its queue is full (both Retry-After). */
async function admit(c: Context<AppEnv>, modelId: string | undefined) {
  const { db, config } = c.var;
  const alive = (await aliveWorkers(db, Date.now(), config.heartbeatTtlMs)).filter(
    (w) => modelId === undefined || w.modelId === modelId,
  );
  if (alive.length === 0) {
    throw new NoWorkersError(
      `no GPU worker is alive for model ${modelId ?? "(any)"}`,
      config.heartbeatIntervalS,
    );
  }
  const queued = await countQueued(db, modelId);
  if (queued >= config.queueLimit) {
    const capacity = alive.reduce((n, w) => n + w.capacity, 0);
    throw new QueueFullError(
      `${queued} jobs of model ${modelId ?? "(any)"} are queued (limit ${config.queueLimit})`,
      // Roughly the time the pool needs to take the overflow, at a few seconds per job.
      Math.min(60, Math.ceil((queued - config.queueLimit + 1) / capacity) * 5),
    );
  }
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
    const consumer = consumerOf(c);
    const key = idempotencyKey(c);
    // Idempotency keys are the consumer's own: two keys may both send "1".
    const id =
      key === undefined ? crypto.randomUUID() : await idempotentJobId(`${consumer.keyId}:${key}`);
    const dispatcher = c.env.DISPATCHER.get(c.env.DISPATCHER.idFromName(DISPATCHER_NAME));
    const replayed = key === undefined ? undefined : await getJob(c.var.db, id);
    if (replayed === undefined) {
      const resolved = await resolveSteps(c, req);
      const modelId = resolved.manifest?.diffusion_model.id;
      await admit(c, modelId);
      const seed = req.seed ?? randomSeed();
      const generation = resolved.manifest?.diffusion_model.generation;
      const body: StoredJobRequest = {
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
        model_id: modelId,
        deadline_s: req.deadline_s,
      };
      const now = Date.now();
      // The slot under the key's concurrent-jobs cap (429 when full) is taken before the job exists.
      await reserveJobSlot(c.var.db, consumer, id, now);
      // A racing POST with the same key inserted first: fall through to its job.
      await insertJob(c.var.db, {
        id,
        status: "queued",
        request: JSON.stringify(body),
        steps: resolved.steps,
        stepsSource: resolved.source,
        seed,
        predictorVersion: resolved.version ?? null,
        createdAt: now,
      }).catch(async (err: unknown) => {
        if (key === undefined || (await getJob(c.var.db, id)) === undefined) throw err;
      });
      afterResponse(c, "job usage", recordJobAccepted(c.var.db, consumer, resolved.steps, now));
      await dispatcher.wake();
    }
    if (wait !== undefined && wait > 0) await dispatcher.waitFor(id, wait * 1000);
    const job = await getJob(c.var.db, id);
    if (replayed !== undefined) c.header("idempotent-replayed", "true");
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
