/**
 * The active predictor of this isolate: the active version is read from D1 (cached for
 * ACTIVE_TTL_MS so warm requests skip the query), its bundle loaded once from R2 into ONNX
 * sessions and cached by version. A failed load is not cached, so the next request retries.
 */
import { type BudgetFusionError, ModelLoadError, NotFoundError } from "@budgetfusion/shared/errors";
import {
  type BundleManifest,
  bundleManifestSchema,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import { requireServedLsnrDefinition } from "../bundles/lsnr-definition";
import type { EdgeDb } from "../db/client";
import { activate, activeVersion, getVersion } from "../db/queries/bundles";
import { ortWeb } from "../runtime/ort-web";
import { bundleReader } from "../storage/r2-blob-store";
import { type LoadedPredictor, loadPredictor } from "./load-predictor";

/** How stale another isolate's view of an activation may be. */
const ACTIVE_TTL_MS = 2_000;

let activeCache: { version: string | undefined; at: number } | undefined;
const loaded = new Map<string, Promise<LoadedPredictor>>();

export function forgetActiveVersion(): void {
  activeCache = undefined;
}

export async function currentVersion(db: EdgeDb, now = Date.now()): Promise<string | undefined> {
  if (activeCache !== undefined && now - activeCache.at < ACTIVE_TTL_MS) return activeCache.version;
  const version = await activeVersion(db);
  activeCache = { version, at: now };
  return version;
}

/**
 * A version active from before the edge knew SPEC §3's revision is not served: 503 (the server's
 * state, not the caller's request, is at fault) with the reason and the fix.
 */
function servable(manifest: BundleManifest): void {
  try {
    requireServedLsnrDefinition(manifest);
  } catch (cause) {
    const err = cause as BudgetFusionError;
    throw new ModelLoadError(
      `predictor version ${manifest.version} cannot be served: ${err.message}`,
      {
        field: err.field,
        cause,
      },
    );
  }
}

export function predictorFor(
  db: EdgeDb,
  blobs: R2Bucket,
  version: string,
): Promise<LoadedPredictor> {
  let p = loaded.get(version);
  if (p === undefined) {
    p = (async () => {
      const row = await getVersion(db, version);
      if (row === undefined) throw new NotFoundError(`predictor version ${version} is not stored`);
      const manifest = bundleManifestSchema.parse(JSON.parse(row.manifest));
      servable(manifest);
      return loadPredictor(manifest, ortWeb, bundleReader(blobs, version));
    })();
    loaded.set(version, p);
    p.catch(() => loaded.delete(version));
    // Keep at most the active and one previous version in memory (128 MB per isolate).
    if (loaded.size > 2) {
      const [oldest] = loaded.keys();
      if (oldest !== version) {
        const old = loaded.get(oldest);
        loaded.delete(oldest);
        old?.then((x) => x.release()).catch(() => undefined);
      }
    }
  }
  return p;
}

/**
 * Makes a stored version the active one. It is loaded in this isolate first, so a version that
 * cannot load never becomes active (POST /admin/bundles/:v/activate, canary promotion).
 */
export async function activateVersion(
  db: EdgeDb,
  blobs: R2Bucket,
  version: string,
  now: number,
): Promise<void> {
  await predictorFor(db, blobs, version);
  await activate(db, version, now);
  forgetActiveVersion();
}
