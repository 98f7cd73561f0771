/**
 * Generation jobs: POST /v1/generate (steps "auto" = the active predictor's t*), GET
 * /v1/jobs/:id (with live progress while it runs), GET /v1/jobs/:id/events (the same as
 * server-sent events until it ends), DELETE /v1/jobs/:id (cancel), GET /v1/images/:id. Jobs are
 * written to D1 first and then handed to the dispatcher Durable Object, so an accepted job
 * survives any later failure (SPEC §7). A key sees only its own jobs (another's are a 404).
 * Admission control: a job is accepted only while a worker of its model is alive (else 503)
 * and fewer than JOB_QUEUE_LIMIT jobs of that model wait (else 429), both with Retry-After;
 * an Idempotency-Key makes a retried POST return the job the first one created.
 */
import {
  BudgetFusionError,
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
import { streamSSE } from "hono/streaming";
import type { AppEnv, EdgeApp } from "../app-env";
import { serveBudget } from "../canary/serve-budget";
import { countQueued, getJob, insertJob, type JobRow } from "../db/queries/jobs";
import { jobOwner } from "../db/queries/usage";
import { aliveWorkers } from "../db/queries/workers";
import { deadlineOf, dispatcherOf } from "../dispatch/dispatcher";
import { checkCanSign } from "../dispatch/job-webhooks";
import { activeShards, jobShard } from "../dispatch/shards";
import type { StoredJobRequest } from "../dispatch/worker-call";
import { jobProgress } from "../jobs/job-progress";
import { isFinished, jobView } from "../jobs/job-view";
import { consumerOf } from "../keys/consumer-auth";
import { reserveJobSlot } from "../limits/job-slots";
import { afterResponse } from "../middleware/after-response";
import { BODY_LIMITS, limitBody } from "../middleware/body-limit";
import { currentVersion } from "../predictor/active-predictor";
import { sha256, toHex } from "../runtime/sha256";
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

const jobEvents = createRoute({
  method: "get",
  path: "/v1/jobs/{id}/events",
  security: CONSUMER_SECURITY,
  summary: "The job's progress as server-sent events, until it ends",
  description:
    "`event: progress` with the job (as GET /v1/jobs/:id) whenever its state or step changes, " +
    "then one `event: done` with its final state, and the stream ends. A job still not ended " +
    "past its deadline (plus one attempt's time) gets `event: timeout` and the stream ends; " +
    "`: keepalive` comments keep a quiet stream open.",
  request: { params: jobIdParams },
  responses: {
    200: {
      description: "The event stream",
      content: { "text/event-stream": { schema: z.string() } },
    },
    401: unauthorized,
    404: errorResponse("Unknown job"),
  },
});

const cancel = createRoute({
  method: "delete",
  path: "/v1/jobs/{id}",
  security: CONSUMER_SECURITY,
  summary: "Cancel a queued or running job",
  description:
    "A queued job ends `canceled` at once; a running one ends `canceled` and its GPU worker " +
    "stops it at the next denoising step.",
  request: { params: jobIdParams },
  responses: {
    200: {
      description: "Canceled",
      content: { "application/json": { schema: jobResponseSchema } },
    },
    401: unauthorized,
    404: errorResponse("Unknown job"),
    409: errorResponse("The job has already ended; error.details.status names its state"),
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

/** Between an event stream's looks at its job: a step of a small image takes about this long. */
const EVENTS_POLL_MS = 500;
/** A comment line this often keeps proxies from closing a quiet stream (a long queue wait). */
const EVENTS_KEEPALIVE_MS = 15_000;

/**
 * The job id an Idempotency-Key names: a UUID (version 8, RFC 9562 "custom") from its SHA-256,
 * so a repeated key finds the row by primary key and two racing POSTs cannot both insert.
 */
async function idempotentJobId(key: string): Promise<string> {
  const b = (await sha256(`generate\n${key}`)).subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x80;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = toHex(b);
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

/**
 * 503 when no worker of the model is alive, 429 when its queue is full (both Retry-After).
 * Returns the slots of the model's live workers.
 */
async function admit(c: Context<AppEnv>, modelId: string | undefined): Promise<number> {
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
  const capacity = alive.reduce((n, w) => n + w.capacity, 0);
  const queued = await countQueued(db, modelId);
  if (queued >= config.queueLimit) {
    throw new QueueFullError(
      `${queued} jobs of model ${modelId ?? "(any)"} are queued (limit ${config.queueLimit})`,
      // Roughly the time the pool needs to take the overflow, at a few seconds per job.
      Math.min(60, Math.ceil((queued - config.queueLimit + 1) / capacity) * 5),
    );
  }
  return capacity;
}

function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/**
 * The job when the calling consumer owns it: another key's job is a 404, as if it did not
 * exist. Jobs from before job ownership (no owner row) stay readable.
 */
async function consumersJob(c: Context<AppEnv>, id: string): Promise<JobRow> {
  const [job, owner] = await Promise.all([getJob(c.var.db, id), jobOwner(c.var.db, id)]);
  if (job === undefined || (owner !== undefined && owner.keyId !== consumerOf(c).keyId)) {
    throw new NotFoundError(`no job ${id}`, { field: "id" });
  }
  return job;
}

/** The job's view with its progress while it is queued or running. */
async function liveView(c: Context<AppEnv>, job: JobRow) {
  if (isFinished(job)) return jobView(job);
  return jobView(job, await jobProgress(c.var.db, job, c.env.WORKER_TOKEN, Date.now()));
}

/** The SSE stream's progress events: sent when the status or the step moves. */
function eventsStream(c: Context<AppEnv>, first: JobRow) {
  const { db, config } = c.var;
  const request = JSON.parse(first.request) as StoredJobRequest;
  // No stream outlives the job: past its deadline and one more attempt, it has ended.
  const endAt = deadlineOf(first, request, config) + config.attemptTimeoutMs;
  return streamSSE(c, async (stream) => {
    let last = "";
    let wroteAt = Date.now();
    for (let job: JobRow | undefined = first; job !== undefined && !stream.aborted; ) {
      if (isFinished(job)) {
        await stream.writeSSE({ event: "done", data: JSON.stringify(jobView(job)) });
        return;
      }
      const view = await liveView(c, job);
      const now = Date.now();
      if (now >= endAt) {
        await stream.writeSSE({ event: "timeout", data: JSON.stringify(view) });
        return;
      }
      const moved = `${view.status}/${view.progress?.step}`;
      if (moved !== last) {
        last = moved;
        wroteAt = now;
        await stream.writeSSE({ event: "progress", data: JSON.stringify(view) });
      } else if (now - wroteAt >= EVENTS_KEEPALIVE_MS) {
        wroteAt = now;
        await stream.write(": keepalive\n\n");
      }
      await stream.sleep(EVENTS_POLL_MS);
      job = await getJob(db, first.id);
    }
  });
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
    checkCanSign(c.var.config.webhookSecret, req);
    const consumer = consumerOf(c);
    const key = idempotencyKey(c);
    // Idempotency keys are the consumer's own: two keys may both send "1".
    const id =
      key === undefined ? crypto.randomUUID() : await idempotentJobId(`${consumer.keyId}:${key}`);
    const replayed = key === undefined ? undefined : await getJob(c.var.db, id);
    // The dispatcher shard that owns the job (dispatch/shards.ts), fixed when it is created.
    let shard: string;
    if (replayed !== undefined) {
      shard = replayed.dispatchShard;
    } else {
      const resolved = await resolveSteps(c, req);
      const modelId = resolved.manifest?.diffusion_model.id;
      const capacity = await admit(c, modelId);
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
        webhook_url: req.webhook_url,
        webhook_events: req.webhook_events,
      };
      const now = Date.now();
      shard = jobShard(modelId, id, activeShards(c.var.config.dispatcherShards, capacity));
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
        dispatchShard: shard,
      }).catch(async (err: unknown) => {
        if (key === undefined || (await getJob(c.var.db, id)) === undefined) throw err;
      });
      afterResponse(c, "job usage", recordJobAccepted(c.var.db, consumer, resolved.steps, now));
      await dispatcherOf(c.env, shard).wake(shard);
    }
    if (wait !== undefined && wait > 0) await dispatcherOf(c.env, shard).waitFor(id, wait * 1000);
    const job = await getJob(c.var.db, id);
    if (replayed !== undefined) c.header("idempotent-replayed", "true");
    if (job !== undefined && isFinished(job)) {
      return c.json(jobView(job), 200);
    }
    return c.json({ job_id: id, status: job?.status ?? ("queued" as const) }, 202, {
      location: `/v1/jobs/${id}`,
    });
  });

  app.openapi(jobStatus, async (c) => {
    const job = await consumersJob(c, c.req.valid("param").id);
    return c.json(await liveView(c, job), 200);
  });

  app.openapi(jobEvents, async (c) =>
    eventsStream(c, await consumersJob(c, c.req.valid("param").id)),
  );

  app.openapi(cancel, async (c) => {
    const { id } = c.req.valid("param");
    const owned = await consumersJob(c, id);
    const { job, canceled } = await dispatcherOf(c.env, owned.dispatchShard).cancel(id);
    if (job === undefined) throw new NotFoundError(`no job ${id}`, { field: "id" });
    if (!canceled) {
      const message = isFinished(job)
        ? `job ${id} has already ${job.status === "canceled" ? "been canceled" : job.status}`
        : `job ${id} kept changing state (${job.status}); try again`;
      throw new BudgetFusionError("conflict", message, {
        field: "id",
        details: { status: job.status },
      });
    }
    return c.json(jobView(job), 200);
  });

  app.openapi(image, async (c) => {
    const { id } = c.req.valid("param");
    const job = await consumersJob(c, id);
    if (job.imageKey === null) {
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
