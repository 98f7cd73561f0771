/** POST /v1/budget: the step budget t* for a prompt (SPEC §5, §7). */
import { budgetRequestSchema, budgetResponseSchema } from "@budgetfusion/shared/schemas/edge-api";
import { createRoute } from "@hono/zod-openapi";
import { endTime, setMetric, startTime } from "hono/timing";
import type { EdgeApp } from "../app-env";
import { serveBudget } from "../canary/serve-budget";
import { consumerOf } from "../keys/consumer-auth";
import { afterResponse } from "../middleware/after-response";
import { BODY_LIMITS, limitBody } from "../middleware/body-limit";
import { budgetCacheStats } from "../predictor/budget-cache";
import { recordBudget } from "../usage/record-usage";
import { activePredictor, budgetContext, errorResponse, jsonBody } from "./common";
import { CONSUMER_SECURITY, rateLimited, unauthorized } from "./consumer-openapi";

const route = createRoute({
  method: "post",
  path: "/v1/budget",
  security: CONSUMER_SECURITY,
  summary: "Step budget t* for a prompt",
  description:
    "Predicts the three perceptual metric curves over 1..129 steps and returns the plateau " +
    "step t* (SPEC §5), or with `quality` the fewest steps reaching that share of every " +
    "metric's 1->129 change, or with `mode: \"allocate\"` the bundle's calibrated " +
    "price-per-step allocation. Server-Timing carries `total` (from before the key check), " +
    "`budget` (the computation) and within it `cache-lookup` (the Cache API, for bundles whose " +
    "recomputation costs more than a lookup), `embed` and " +
    "`predict` (on a miss), `cache` (isolate | cache-api | miss) and `cache-hit-rate` (this " +
    "isolate's, as a number). workerd moves its clock only at I/O and timer events, so the " +
    "durations are the waits; pure computation can read 0.",
  middleware: [limitBody(BODY_LIMITS.budget)] as const,
  request: { body: jsonBody(budgetRequestSchema) },
  responses: {
    200: {
      description: "The budget",
      content: { "application/json": { schema: budgetResponseSchema } },
    },
    400: errorResponse(
      "Invalid input, or mode allocate on a bundle without a calibration; error.field names the field",
    ),
    401: unauthorized,
    413: errorResponse(`Body over ${BODY_LIMITS.budget} bytes`),
    429: rateLimited("budgets_per_minute"),
    503: errorResponse("No active predictor"),
  },
});

export function registerBudgetRoutes(app: EdgeApp) {
  app.openapi(route, async (c) => {
    const req = c.req.valid("json");
    const active = await activePredictor(c);
    startTime(c, "budget");
    const { budget, cache } = await serveBudget(budgetContext(c), active, req);
    endTime(c, "budget");
    setMetric(c, "cache", cache);
    setMetric(c, "cache-hit-rate", budgetCacheStats().hit_rate, "budget cache hit rate", 3);
    recordBudget(c.var.db, consumerOf(c), budget.steps, Date.now(), (work) =>
      afterResponse(c, "budget usage", work),
    );
    return c.json(budget, 200);
  });
}
