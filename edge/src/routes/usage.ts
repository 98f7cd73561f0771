/**
 * Usage and savings: GET /v1/usage (the calling key's days), GET /admin/usage (every key, the
 * anonymous local-mode consumer included), GET /admin/usage/savings.svg (the plot the admin
 * view shows). Counters: usage/record-usage.ts.
 */
import { PAPER_REFERENCE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import {
  adminUsageResponseSchema,
  usageQuerySchema,
  usageResponseSchema,
} from "@budgetfusion/shared/schemas/consumer-api";
import { createRoute, z } from "@hono/zod-openapi";
import type { EdgeApp } from "../app-env";
import { listKeys } from "../db/queries/api-keys";
import { usageRows } from "../db/queries/usage";
import { ANONYMOUS, ANONYMOUS_KEY_ID } from "../keys/consumer";
import { consumerOf } from "../keys/consumer-auth";
import { savingsChart } from "../usage/savings-chart";
import { dayRange, keyUsage, totals, type UsageOwner } from "../usage/usage-report";
import { ADMIN_SECURITY, errorResponse, jsonResponse } from "./common";
import { CONSUMER_SECURITY, unauthorized } from "./consumer-openapi";

const own = createRoute({
  method: "get",
  path: "/v1/usage",
  security: CONSUMER_SECURITY,
  summary: "This key's usage and savings per UTC day",
  request: { query: usageQuerySchema },
  responses: {
    200: jsonResponse("Days with activity, oldest first, and totals", usageResponseSchema),
    400: errorResponse("Bad day range; error.field names it"),
    401: unauthorized,
  },
});
const all = createRoute({
  method: "get",
  path: "/admin/usage",
  security: ADMIN_SECURITY,
  summary: "Usage and savings of every key per UTC day",
  request: { query: usageQuerySchema },
  responses: {
    200: jsonResponse("Every key (revoked ones too) and totals", adminUsageResponseSchema),
    400: errorResponse("Bad day range; error.field names it"),
    401: errorResponse("Bad token"),
  },
});
const chart = createRoute({
  method: "get",
  path: "/admin/usage/savings.svg",
  security: ADMIN_SECURITY,
  summary: "Plot of cumulative savings over the range, all keys together",
  request: {
    query: usageQuerySchema.extend({
      metric: z.enum(["steps", "gpu_seconds"]).default("steps"),
    }),
  },
  responses: {
    200: { description: "SVG", content: { "image/svg+xml": { schema: z.string() } } },
    400: errorResponse("Bad day range or metric"),
    401: errorResponse("Bad token"),
  },
});

export function registerUsageRoutes(app: EdgeApp) {
  app.openapi(own, async (c) => {
    const consumer = consumerOf(c);
    const range = dayRange(c.req.valid("query"), Date.now());
    const rows = await usageRows(c.var.db, range.from, range.to, [consumer.keyId]);
    const owner: UsageOwner = {
      key_id: consumer.keyId,
      name: consumer.name,
      plan: consumer.plan,
      baseline_steps: consumer.baselineSteps,
    };
    return c.json(
      { ...keyUsage(owner, rows), reference_steps: PAPER_REFERENCE_STEPS, ...range },
      200,
    );
  });

  app.openapi(all, async (c) => {
    const range = dayRange(c.req.valid("query"), Date.now());
    const rows = await usageRows(c.var.db, range.from, range.to);
    const owners: UsageOwner[] = (await listKeys(c.var.db)).map((k) => ({
      key_id: k.id,
      name: k.name,
      plan: k.plan,
      baseline_steps: k.baselineSteps,
    }));
    if (rows.some((r) => r.keyId === ANONYMOUS_KEY_ID)) {
      owners.push({
        key_id: ANONYMOUS_KEY_ID,
        name: ANONYMOUS.name,
        plan: null,
        baseline_steps: ANONYMOUS.baselineSteps,
      });
    }
    const keys = owners.map((o) =>
      keyUsage(
        o,
        rows.filter((r) => r.keyId === o.key_id),
      ),
    );
    return c.json(
      { reference_steps: PAPER_REFERENCE_STEPS, ...range, keys, totals: totals(rows) },
      200,
    );
  });

  app.openapi(chart, async (c) => {
    const query = c.req.valid("query");
    const range = dayRange(query, Date.now());
    const rows = await usageRows(c.var.db, range.from, range.to);
    return c.body(savingsChart(rows, range, query.metric), 200, {
      "content-type": "image/svg+xml; charset=utf-8",
      "cache-control": "no-store",
    });
  });
}
