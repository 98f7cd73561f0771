/**
 * GPU worker registration, heartbeats and deregistration (Bearer: the worker's own credential, or
 * the shared WORKER_TOKEN while no credential is live; middleware/worker-auth.ts). The worker
 * calls POST /v1/workers/register and POST /v1/workers/:id/heartbeat with the same body, and
 * DELETE /v1/workers/:id when it leaves. Routing is guarded beyond authentication: a credential
 * acts only on its own worker_id, a url must match WORKER_URL_PATTERNS when set, a live worker_id
 * cannot be moved to another url (by registration or heartbeat), and records silent for
 * WORKER_RECORD_TTL_S are deleted.
 */
import { BudgetFusionError, NotFoundError, ValidationError } from "@budgetfusion/shared/errors";
import {
  heartbeatResponseSchema,
  workerRegistrationSchema,
} from "@budgetfusion/shared/schemas/edge-api";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv, EdgeApp } from "../app-env";
import {
  deleteSilentWorkers,
  deleteWorker,
  getWorker,
  heartbeatWorker,
  isAlive,
  upsertWorker,
  type WorkerRow,
} from "../db/queries/workers";
import { wakeShardsFor } from "../dispatch/dispatcher";
import { BODY_LIMITS, limitBody } from "../middleware/body-limit";
import { actAs, workerAuth } from "../middleware/worker-auth";
import { errorResponse, jsonBody } from "./common";

const ok = {
  description: "Accepted",
  content: { "application/json": { schema: heartbeatResponseSchema } },
};

const register = createRoute({
  method: "post",
  path: "/v1/workers/register",
  security: [{ workerToken: [] }],
  middleware: limitBody(BODY_LIMITS.workerStatus),
  request: { body: jsonBody(workerRegistrationSchema) },
  responses: {
    200: ok,
    400: errorResponse("Invalid body"),
    401: errorResponse("Bad token or credential"),
    403: errorResponse("The credential was issued for another worker_id"),
    409: errorResponse("worker_id is alive at another url"),
    413: errorResponse(`Body over ${BODY_LIMITS.workerStatus} bytes`),
  },
});

const heartbeat = createRoute({
  method: "post",
  path: "/v1/workers/{id}/heartbeat",
  security: [{ workerToken: [] }],
  middleware: limitBody(BODY_LIMITS.workerStatus),
  request: { params: z.object({ id: z.string() }), body: jsonBody(workerRegistrationSchema) },
  responses: {
    200: ok,
    400: errorResponse("Invalid body"),
    401: errorResponse("Bad token or credential"),
    403: errorResponse("The credential was issued for another worker_id"),
    413: errorResponse(`Body over ${BODY_LIMITS.workerStatus} bytes`),
    404: errorResponse("Unknown worker: register again"),
    409: errorResponse("worker_id is alive at another url"),
  },
});

const deregister = createRoute({
  method: "delete",
  path: "/v1/workers/{id}",
  security: [{ workerToken: [] }],
  request: { params: z.object({ id: z.string() }) },
  responses: {
    204: { description: "Removed; its running jobs are retried elsewhere" },
    401: errorResponse("Bad token or credential"),
    403: errorResponse("The credential was issued for another worker_id"),
    404: errorResponse("Unknown worker"),
  },
});

/**
 * The caller may act as the worker_id, the url must match WORKER_URL_PATTERNS (when set) and not
 * move a live worker elsewhere. Returns the worker's record as it was.
 */
async function checkIdentity(
  c: Context<AppEnv>,
  reg: { worker_id: string; url: string },
): Promise<WorkerRow | undefined> {
  actAs(c, reg.worker_id);
  const { config, db } = c.var;
  const patterns = config.workerUrlPatterns;
  if (patterns.length > 0 && !patterns.some((p) => p.test(reg.url))) {
    throw new ValidationError(`url ${reg.url} matches none of WORKER_URL_PATTERNS`, {
      field: "url",
    });
  }
  const known = await getWorker(db, reg.worker_id);
  if (
    known !== undefined &&
    known.url !== reg.url &&
    isAlive(known, Date.now(), config.heartbeatTtlMs)
  ) {
    throw new BudgetFusionError(
      "conflict",
      `worker ${reg.worker_id} is alive at another url; it must deregister or go silent first`,
      { field: "worker_id" },
    );
  }
  return known;
}

export function registerWorkerRoutes(app: EdgeApp) {
  app.use("/v1/workers/*", workerAuth);
  // New capacity, or a worker back from silence, may unblock queued jobs: let its model's shards
  // look now. Routine heartbeats do not (2 x DISPATCHER_SHARDS calls each): shards with queued
  // jobs look again every heartbeat interval anyway.
  const kick = (c: Context<AppEnv>, modelId: string) =>
    c.executionCtx.waitUntil(wakeShardsFor(c.env, modelId, c.var.config.dispatcherShards));
  app.openapi(register, async (c) => {
    const reg = c.req.valid("json");
    await checkIdentity(c, reg);
    const now = Date.now();
    await deleteSilentWorkers(c.var.db, now - c.var.config.workerRecordTtlMs);
    await upsertWorker(c.var.db, reg, now);
    kick(c, reg.model_id);
    return c.json({ heartbeat_interval_s: c.var.config.heartbeatIntervalS }, 200);
  });
  app.openapi(heartbeat, async (c) => {
    const body = c.req.valid("json");
    const { id } = c.req.valid("param");
    if (id !== body.worker_id) {
      throw new ValidationError(`worker_id ${body.worker_id} does not match the path ${id}`, {
        field: "worker_id",
      });
    }
    const known = await checkIdentity(c, body);
    const now = Date.now();
    if (!(await heartbeatWorker(c.var.db, body, now))) {
      throw new NotFoundError(`worker ${id} is not registered`, { field: "worker_id" });
    }
    if (known === undefined || !isAlive(known, now, c.var.config.heartbeatTtlMs)) {
      kick(c, body.model_id);
    }
    return c.json({ heartbeat_interval_s: c.var.config.heartbeatIntervalS }, 200);
  });
  app.openapi(deregister, async (c) => {
    const { id } = c.req.valid("param");
    actAs(c, id);
    if (!(await deleteWorker(c.var.db, id))) {
      throw new NotFoundError(`worker ${id} is not registered`, { field: "worker_id" });
    }
    // Its running attempts are aborted by their shards' watchdogs and retried elsewhere.
    return c.body(null, 204);
  });
}
