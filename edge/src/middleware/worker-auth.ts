/**
 * Authentication of the GPU workers' own routes (/v1/workers/*). A worker presents, as
 * `Authorization: Bearer`, either its own credential (POST /admin/worker-credentials, found by
 * its digest) or the shared WORKER_TOKEN. The shared token is accepted only while no credential
 * is live: a deployment that issued none (npm start, local development) works as before, and
 * issuing the first credential turns it off for every worker-to-edge call (the edge still
 * presents WORKER_TOKEN to the workers it calls). A credential may act only on the worker_id it
 * was issued for (actAs), so no other credential can register, heartbeat or delete that id.
 */
import { BudgetFusionError } from "@budgetfusion/shared/errors";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { anyLiveCredential, liveCredentialByDigest } from "../db/queries/worker-credentials";
import { keyDigest, WORKER_CREDENTIAL_TAG } from "../keys/api-key-secret";
import { bearerGuard, isSecret } from "./bearer-auth";

async function verifyWorker(token: string, c: Context<AppEnv>): Promise<boolean> {
  const { db } = c.var;
  if (token.startsWith(WORKER_CREDENTIAL_TAG)) {
    const row = await liveCredentialByDigest(db, await keyDigest(token));
    if (row === undefined) return false;
    c.set("workerIdentity", { kind: "credential", credentialId: row.id, workerId: row.workerId });
    return true;
  }
  if (!(await isSecret(c, "WORKER_TOKEN", token)) || (await anyLiveCredential(db))) return false;
  c.set("workerIdentity", { kind: "shared" });
  return true;
}

export const workerAuth = bearerGuard("workers", verifyWorker);

/** 403 naming worker_id unless the caller's credential was issued for `workerId`. */
export function actAs(c: Context<AppEnv>, workerId: string): void {
  const identity = c.var.workerIdentity;
  if (identity === undefined) throw new Error("workerAuth did not run for this route");
  if (identity.kind === "credential" && identity.workerId !== workerId) {
    throw new BudgetFusionError(
      "forbidden",
      `this credential was issued for worker ${identity.workerId}, not ${workerId}`,
      { field: "worker_id" },
    );
  }
}
