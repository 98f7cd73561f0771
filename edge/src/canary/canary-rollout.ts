/**
 * The operator's canary actions: start one (or change its share), promote it (the candidate
 * becomes the active version through the activation log, so POST /admin/bundles/rollback undoes
 * it in one call) or abort it (nothing served changes). Conflicts are 409s naming the version.
 */
import { BudgetFusionError, NotFoundError } from "@budgetfusion/shared/errors";
import type { EdgeDb } from "../db/client";
import { activeVersion, getVersion } from "../db/queries/bundles";
import {
  type CanaryEnd,
  type CanaryRow,
  endCanary,
  runningCanary,
  setShare,
  startCanary,
} from "../db/queries/canaries";
import { activateVersion, predictorFor } from "../predictor/active-predictor";
import { forgetCanary } from "./canary-state";

const conflict = (message: string) =>
  new BudgetFusionError("conflict", message, { field: "version" });

/** Starts a canary of `version` at `share`, or sets the share of the one already running. */
export async function startOrResize(
  db: EdgeDb,
  blobs: R2Bucket,
  version: string,
  share: number,
  now: number,
): Promise<{ canary: CanaryRow; started: boolean }> {
  if ((await getVersion(db, version)) === undefined) {
    throw new NotFoundError(`no stored version ${version}`, { field: "version" });
  }
  const stable = await activeVersion(db);
  if (stable === undefined) throw conflict("no active version for a canary to be compared with");
  if (stable === version) throw conflict(`version ${version} is already active`);
  const running = await runningCanary(db);
  if (running !== undefined && running.version !== version) {
    throw conflict(`a canary of ${running.version} is running: promote or abort it first`);
  }
  forgetCanary();
  if (running !== undefined)
    return { canary: await setShare(db, running.id, share), started: false };
  // Loaded here first: a candidate that cannot load never receives traffic.
  await predictorFor(db, blobs, version);
  try {
    const canary = await startCanary(db, { version, stableVersion: stable, share, now });
    return { canary, started: true };
  } catch (err) {
    // canaries_one_running: another canary started in the meantime.
    throw conflict(`another canary started at the same time: ${String(err)}`);
  } finally {
    forgetCanary();
  }
}

async function runningOf(db: EdgeDb, version: string): Promise<CanaryRow> {
  const running = await runningCanary(db);
  if (running === undefined || running.version !== version) {
    throw conflict(`no canary of ${version} is running`);
  }
  return running;
}

async function end(db: EdgeDb, running: CanaryRow, status: CanaryEnd, now: number) {
  const ended = await endCanary(db, running.id, status, now);
  forgetCanary();
  if (ended === undefined) throw conflict(`the canary of ${running.version} ended meanwhile`);
  return ended;
}

export async function promote(db: EdgeDb, blobs: R2Bucket, version: string, now: number) {
  const running = await runningOf(db, version);
  // Activation first: a candidate that fails to activate stays a running canary.
  await activateVersion(db, blobs, version, now);
  return end(db, running, "promoted", now);
}

export async function abort(db: EdgeDb, version: string, now: number) {
  return end(db, await runningOf(db, version), "aborted", now);
}
