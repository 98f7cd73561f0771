/**
 * Consumer API keys (admin, Bearer ADMIN_TOKEN): create (the key is in the answer, once; D1 keeps
 * its SHA-256 digest), list, revoke. Revocation is immediate in this isolate and takes at most
 * a few seconds in the others (keys/consumer-auth.ts).
 */
import { NotFoundError } from "@budgetfusion/shared/errors";
import {
  createdKeySchema,
  createKeyRequestSchema,
  keyViewSchema,
} from "@budgetfusion/shared/schemas/consumer-api";
import { createRoute, z } from "@hono/zod-openapi";
import type { EdgeApp } from "../app-env";
import { insertKey, listKeys, revokeKey } from "../db/queries/api-keys";
import { API_KEY_TAG, issueSecret } from "../keys/api-key-secret";
import { keyView } from "../keys/consumer";
import { forgetKey } from "../keys/consumer-auth";
import { PLANS } from "../keys/plans";
import { ADMIN_SECURITY, errorResponse, jsonBody, jsonResponse } from "./common";

const create = createRoute({
  method: "post",
  path: "/admin/keys",
  security: ADMIN_SECURITY,
  summary: "Create a consumer API key (shown once)",
  request: { body: jsonBody(createKeyRequestSchema) },
  responses: {
    201: jsonResponse("Created; api_key is not shown again", createdKeySchema),
    400: errorResponse("Invalid input; error.field names the field"),
    401: errorResponse("Bad token"),
  },
});
const list = createRoute({
  method: "get",
  path: "/admin/keys",
  security: ADMIN_SECURITY,
  responses: {
    200: jsonResponse(
      "Every key, revoked ones included",
      z.object({ keys: z.array(keyViewSchema) }),
    ),
    401: errorResponse("Bad token"),
  },
});
const revoke = createRoute({
  method: "delete",
  path: "/admin/keys/{key_id}",
  security: ADMIN_SECURITY,
  summary: "Revoke a key (idempotent; its usage history stays)",
  request: { params: z.object({ key_id: z.uuid() }) },
  responses: {
    200: jsonResponse("Revoked", keyViewSchema),
    401: errorResponse("Bad token"),
    404: errorResponse("Unknown key"),
  },
});

export function registerKeyRoutes(app: EdgeApp) {
  app.openapi(create, async (c) => {
    const req = c.req.valid("json");
    const issued = await issueSecret(API_KEY_TAG);
    const row = {
      id: crypto.randomUUID(),
      name: req.name,
      plan: req.plan,
      keyHash: issued.digest,
      prefix: issued.prefix,
      baselineSteps: req.baseline_steps,
      concurrentJobs: req.concurrent_jobs ?? PLANS[req.plan].concurrentJobs,
      createdAt: Date.now(),
      revokedAt: null,
    };
    await insertKey(c.var.db, row);
    return c.json({ ...keyView(row), api_key: issued.secret }, 201);
  });

  app.openapi(list, async (c) => {
    const rows = await listKeys(c.var.db);
    return c.json({ keys: rows.map(keyView) }, 200);
  });

  app.openapi(revoke, async (c) => {
    const { key_id } = c.req.valid("param");
    const row = await revokeKey(c.var.db, key_id, Date.now());
    if (row === undefined) throw new NotFoundError(`no key ${key_id}`, { field: "key_id" });
    forgetKey(row.keyHash);
    return c.json(keyView(row), 200);
  });
}
