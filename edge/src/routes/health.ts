/** Liveness (/healthz: the isolate answers) and readiness (/readyz: active predictor loaded). */
import { createRoute, z } from "@hono/zod-openapi";
import type { EdgeApp } from "../app-env";
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
      description: "The active predictor is loaded in this isolate",
      content: {
        "application/json": {
          schema: z.object({
            status: z.literal("ready"),
            predictor_version: z.string(),
            runtime: z.string(),
          }),
        },
      },
    },
    503: errorResponse("No active predictor, or it fails to load"),
  },
});

export function registerHealthRoutes(app: EdgeApp) {
  app.openapi(healthz, (c) => c.json({ status: "ok" as const }, 200));
  app.openapi(readyz, async (c) => {
    const { version } = await activePredictor(c);
    return c.json(
      { status: "ready" as const, predictor_version: version, runtime: ortWeb.name },
      200,
    );
  });
}
