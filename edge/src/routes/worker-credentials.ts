/**
 * GPU worker credentials (admin, Bearer ADMIN_TOKEN): issue one for a worker_id (the secret is in
 * the answer, once; D1 keeps its SHA-256 digest), list, revoke. Revocation takes effect at the
 * worker's next call (credentials are not cached) and removes its record at once, so it leaves
 * the rotation now and the dispatcher's watchdog retries its running jobs elsewhere. While any
 * credential is live the shared WORKER_TOKEN registers no worker (middleware/worker-auth.ts).
 */
import { NotFoundError } from "@budgetfusion/shared/errors";
import {
  createdWorkerCredentialSchema,
  createWorkerCredentialRequestSchema,
  workerCredentialViewSchema,
} from "@budgetfusion/shared/schemas/edge-api";
import { createRoute, z } from "@hono/zod-openapi";
import type { EdgeApp } from "../app-env";
import {
  insertWorkerCredential,
  listWorkerCredentials,
  revokeWorkerCredential,
  type WorkerCredentialRow,
} from "../db/queries/worker-credentials";
import { deleteWorker } from "../db/queries/workers";
import { issueSecret, WORKER_CREDENTIAL_TAG } from "../keys/api-key-secret";
import { ADMIN_SECURITY, errorResponse, jsonBody, jsonResponse } from "./common";

const create = createRoute({
  method: "post",
  path: "/admin/worker-credentials",
  security: ADMIN_SECURITY,
  summary: "Issue a GPU worker its own credential (shown once)",
  request: { body: jsonBody(createWorkerCredentialRequestSchema) },
  responses: {
    201: jsonResponse("Issued; credential is not shown again", createdWorkerCredentialSchema),
    400: errorResponse("Invalid input; error.field names the field"),
    401: errorResponse("Bad token"),
  },
});
const list = createRoute({
  method: "get",
  path: "/admin/worker-credentials",
  security: ADMIN_SECURITY,
  responses: {
    200: jsonResponse(
      "Every credential, revoked ones included",
      z.object({ credentials: z.array(workerCredentialViewSchema) }),
    ),
    401: errorResponse("Bad token"),
  },
});
const revoke = createRoute({
  method: "delete",
  path: "/admin/worker-credentials/{credential_id}",
  security: ADMIN_SECURITY,
  summary: "Revoke a credential (idempotent); its worker leaves the rotation at once",
  request: { params: z.object({ credential_id: z.uuid() }) },
  responses: {
    200: jsonResponse("Revoked", workerCredentialViewSchema),
    401: errorResponse("Bad token"),
    404: errorResponse("Unknown credential"),
  },
});

function credentialView(row: WorkerCredentialRow) {
  return {
    credential_id: row.id,
    worker_id: row.workerId,
    name: row.name,
    prefix: row.prefix,
    created_at: new Date(row.createdAt).toISOString(),
    revoked_at: row.revokedAt === null ? null : new Date(row.revokedAt).toISOString(),
  };
}

export function registerWorkerCredentialRoutes(app: EdgeApp) {
  app.openapi(create, async (c) => {
    const req = c.req.valid("json");
    const issued = await issueSecret(WORKER_CREDENTIAL_TAG);
    const row = {
      id: crypto.randomUUID(),
      workerId: req.worker_id,
      name: req.name ?? req.worker_id,
      secretHash: issued.digest,
      prefix: issued.prefix,
      createdAt: Date.now(),
      revokedAt: null,
    };
    await insertWorkerCredential(c.var.db, row);
    return c.json({ ...credentialView(row), credential: issued.secret }, 201);
  });

  app.openapi(list, async (c) => {
    const rows = await listWorkerCredentials(c.var.db);
    return c.json({ credentials: rows.map(credentialView) }, 200);
  });

  app.openapi(revoke, async (c) => {
    const { credential_id } = c.req.valid("param");
    const row = await revokeWorkerCredential(c.var.db, credential_id, Date.now());
    if (row === undefined) {
      throw new NotFoundError(`no credential ${credential_id}`, { field: "credential_id" });
    }
    // Out of the rotation now; the watchdog aborts its running attempts and retries them.
    await deleteWorker(c.var.db, row.workerId);
    return c.json(credentialView(row), 200);
  });
}
