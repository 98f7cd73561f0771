/**
 * Canary rollout of a predictor bundle (admin): start it for a share of budget traffic (or
 * change the share), watch traffic and agreement, promote or abort. Promotion is an activation,
 * so POST /admin/bundles/rollback undoes it in one call; that call also aborts a running canary.
 */
import { NotFoundError } from "@budgetfusion/shared/errors";
import { canaryRequestSchema, canaryViewSchema } from "@budgetfusion/shared/schemas/consumer-api";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv, EdgeApp } from "../app-env";
import { canaryView } from "../canary/canary-report";
import { abort, promote, startOrResize } from "../canary/canary-rollout";
import { type CanaryRow, differenceCounts, latestCanary } from "../db/queries/canaries";
import { versionParams } from "./admin";
import { ADMIN_SECURITY, errorResponse, jsonBody, jsonResponse } from "./common";

const view = (description: string) => jsonResponse(description, canaryViewSchema);
const conflict = errorResponse(
  "error.field = version: not running / another canary runs / already active / none active",
);

const start = createRoute({
  method: "post",
  path: "/admin/bundles/{version}/canary",
  security: ADMIN_SECURITY,
  summary: "Serve a stored version to a share of budget traffic (by prompt hash)",
  description:
    "The candidate is loaded first. While it runs, a prompt whose hash falls in the share gets " +
    "the candidate's budget (POST /v1/budget and steps 'auto'), and the active bundle's budget " +
    "for it is recorded beside it. Posting again for the running canary changes its share.",
  request: { params: versionParams, body: jsonBody(canaryRequestSchema) },
  responses: {
    200: view("Share changed"),
    201: view("Started"),
    400: errorResponse("Invalid share"),
    401: errorResponse("Bad token"),
    404: errorResponse("Unknown version"),
    409: conflict,
  },
});
const report = createRoute({
  method: "get",
  path: "/admin/bundles/{version}/canary",
  security: ADMIN_SECURITY,
  summary: "The version's latest canary: traffic counts and t* agreement",
  request: { params: versionParams },
  responses: {
    200: view("Running or ended canary"),
    401: errorResponse("Bad token"),
    404: errorResponse("This version never had a canary"),
  },
});
const promoteRoute = createRoute({
  method: "post",
  path: "/admin/bundles/{version}/canary/promote",
  security: ADMIN_SECURITY,
  summary: "Make the candidate the active version (undo: POST /admin/bundles/rollback)",
  request: { params: versionParams },
  responses: {
    200: jsonResponse("Active now", z.object({ active: z.string(), canary: canaryViewSchema })),
    401: errorResponse("Bad token"),
    409: conflict,
  },
});
const abortRoute = createRoute({
  method: "post",
  path: "/admin/bundles/{version}/canary/abort",
  security: ADMIN_SECURITY,
  summary: "Stop the canary; the active version serves everything again",
  request: { params: versionParams },
  responses: { 200: view("Aborted"), 401: errorResponse("Bad token"), 409: conflict },
});

async function viewOf(c: Context<AppEnv>, row: CanaryRow) {
  return canaryView(row, await differenceCounts(c.var.db, row.id));
}

export function registerCanaryRoutes(app: EdgeApp) {
  app.openapi(start, async (c) => {
    const { version } = c.req.valid("param");
    const { share } = c.req.valid("json");
    const { canary, started } = await startOrResize(
      c.var.db,
      c.env.BLOBS,
      version,
      share,
      Date.now(),
    );
    return c.json(await viewOf(c, canary), started ? 201 : 200);
  });

  app.openapi(report, async (c) => {
    const { version } = c.req.valid("param");
    const row = await latestCanary(c.var.db, version);
    if (row === undefined) {
      throw new NotFoundError(`version ${version} never had a canary`, { field: "version" });
    }
    return c.json(await viewOf(c, row), 200);
  });

  app.openapi(promoteRoute, async (c) => {
    const { version } = c.req.valid("param");
    const row = await promote(c.var.db, c.env.BLOBS, version, Date.now());
    return c.json({ active: version, canary: await viewOf(c, row) }, 200);
  });

  app.openapi(abortRoute, async (c) => {
    const { version } = c.req.valid("param");
    return c.json(await viewOf(c, await abort(c.var.db, version, Date.now())), 200);
  });
}
