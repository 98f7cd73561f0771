/**
 * Liveness (/healthz: the isolate answers) and readiness (/readyz: the active predictor is
 * loaded and a GPU worker of its diffusion model is alive, so POST /v1/generate would accept).
 */
import { NoWorkersError } from "@budgetfusion/shared/errors";
import { createRoute, z } from "@hono/zod-openapi";
import type { EdgeApp } from "../app-env";
import { aliveWorkers } from "../db/queries/workers";
import { ortWeb } from "../runtime/ort-web";
import { activePredictor, errorResponse } from "./common";

const healthz = createRoute({
  method: "get",
  path: "/healthz",
  responses: {
    200: {
      description: "The Worker is up",
      content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } },
    },
  },
});

const readyz = createRoute({
  method: "get",
  path: "/readyz",
  responses: {
    200: {
      description: "The active predictor is loaded and a GPU worker of its model is alive",
      content: {
        "application/json": {
          schema: z.object({
            status: z.literal("ready"),
            predictor_version: z.string(),
            runtime: z.string(),
            model_id: z.string(),
            workers: z.number().int(),
          }),
        },
      },
    },
    503: errorResponse("No active predictor, it fails to load, or no worker of its model is alive"),
  },
});

export function registerHealthRoutes(app: EdgeApp) {
  app.openapi(healthz, (c) => c.json({ status: "ok" as const }, 200));
  app.openapi(readyz, async (c) => {
    const { version, predictor } = await activePredictor(c);
    const modelId = predictor.manifest.diffusion_model.id;
    const { db, config } = c.var;
    const alive = (await aliveWorkers(db, Date.now(), config.heartbeatTtlMs)).filter(
      (w) => w.modelId === modelId,
    );
    if (alive.length === 0) {
      throw new NoWorkersError(
        `no GPU worker is alive for model ${modelId}`,
        config.heartbeatIntervalS,
      );
    }
    return c.json(
      {
        status: "ready" as const,
        predictor_version: version,
        runtime: ortWeb.name,
        model_id: modelId,
        workers: alive.length,
      },
      200,
    );
  });
}
