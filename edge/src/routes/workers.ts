/**
 * GPU worker registration and heartbeats (Bearer WORKER_TOKEN). The worker calls exactly
 * POST /v1/workers/register and POST /v1/workers/:id/heartbeat with the same body.
 */
import { NotFoundError, ValidationError } from "@budgetfusion/shared/errors";
import {
  heartbeatResponseSchema,
  workerRegistrationSchema,
} from "@budgetfusion/shared/schemas/edge-api";
import { createRoute, z } from "@hono/zod-openapi";
import type { EdgeApp } from "../app-env";
import { heartbeatWorker, upsertWorker } from "../db/queries/workers";
import { DISPATCHER_NAME } from "../dispatch/dispatcher";
import { requireToken } from "../middleware/bearer-auth";
import { BODY_LIMITS, limitBody } from "../middleware/body-limit";
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
    401: errorResponse("Bad token"),
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
    401: errorResponse("Bad token"),
    413: errorResponse(`Body over ${BODY_LIMITS.workerStatus} bytes`),
    404: errorResponse("Unknown worker: register again"),
  },
});

export function registerWorkerRoutes(app: EdgeApp) {
  app.use("/v1/workers/*", requireToken("WORKER_TOKEN", "workers"));
  // New or refreshed capacity may unblock queued jobs: let the dispatcher look.
  const kick = (env: Env) => env.DISPATCHER.get(env.DISPATCHER.idFromName(DISPATCHER_NAME)).wake();
  app.openapi(register, async (c) => {
    await upsertWorker(c.var.db, c.req.valid("json"), Date.now());
    c.executionCtx.waitUntil(kick(c.env));
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
    if (!(await heartbeatWorker(c.var.db, body, Date.now()))) {
      throw new NotFoundError(`worker ${id} is not registered`, { field: "worker_id" });
    }
    c.executionCtx.waitUntil(kick(c.env));
    return c.json({ heartbeat_interval_s: c.var.config.heartbeatIntervalS }, 200);
  });
}
