/**
 * Admin API (Bearer ADMIN_TOKEN, constant-time comparison): upload a verified predictor bundle
 * (stored inactive), activate a version, roll back to the previous active one, list bundles and
 * workers. Uploading never changes what is served; activation does.
 */
import { BudgetFusionError, NotFoundError } from "@budgetfusion/shared/errors";
import { bundleManifestSchema } from "@budgetfusion/shared/predictor/bundle-manifest";
import { bundleViewSchema, workerViewSchema } from "@budgetfusion/shared/schemas/edge-api";
import { createRoute, z } from "@hono/zod-openapi";
import type { EdgeApp } from "../app-env";
import { requireServedLsnrDefinition } from "../bundles/lsnr-definition";
import { readUpload } from "../bundles/read-upload";
import { parseManifest, probeBundle, verifyFiles } from "../bundles/verify-bundle";
import { abortRunningCanary } from "../canary/canary-state";
import type { EdgeDb } from "../db/client";
import {
  activeVersion,
  getVersion,
  insertVersion,
  listVersions,
  rollback,
} from "../db/queries/bundles";
import { isHealthy, listWorkers } from "../db/queries/workers";
import { requireToken } from "../middleware/bearer-auth";
import { limitBundleUpload } from "../middleware/body-limit";
import { activateVersion, forgetActiveVersion } from "../predictor/active-predictor";
import { bundleKey } from "../storage/r2-blob-store";
import { errorResponse } from "./common";

const json = <T>(description: string, schema: T) => ({
  description,
  content: { "application/json": { schema } },
});
const security = [{ adminToken: [] }];
export const versionParams = z.object({
  version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
});
const activeSchema = z.object({ active: z.string() });

const upload = createRoute({
  method: "post",
  path: "/admin/bundles",
  security,
  middleware: limitBundleUpload,
  description:
    "multipart/form-data: part 'manifest' (manifest.json) plus one part per file named by its " +
    "manifest-relative path. Verifies schema, sizes, sha256, and runs every ONNX file on a " +
    "probe prompt; stores the version inactive.",
  responses: {
    201: json("Stored, inactive", bundleViewSchema.extend({ probe_steps: z.number().int() })),
    401: errorResponse("Bad token"),
    409: errorResponse("Version exists"),
    413: errorResponse("Body over BUNDLE_UPLOAD_MAX_BYTES (default 32 MiB)"),
    415: errorResponse("Not multipart"),
    422: errorResponse(
      "Verification failed; error.field names the manifest key or file (an L-SNR head trained " +
        "before SPEC §3's revision: metric_definitions.lsnr.definition)",
    ),
  },
});
const list = createRoute({
  method: "get",
  path: "/admin/bundles",
  security,
  responses: {
    200: json("Stored versions", z.object({ bundles: z.array(bundleViewSchema) })),
    401: errorResponse("Bad token"),
  },
});
const activateRoute = createRoute({
  method: "post",
  path: "/admin/bundles/{version}/activate",
  security,
  request: { params: versionParams },
  responses: {
    200: json("Now active", activeSchema),
    401: errorResponse("Bad token"),
    404: errorResponse("Unknown version"),
    422: errorResponse("The stored bundle cannot be served; error.field names the manifest key"),
  },
});
const rollbackRoute = createRoute({
  method: "post",
  path: "/admin/bundles/rollback",
  security,
  responses: {
    200: json("Active after rollback", activeSchema),
    401: errorResponse("Bad token"),
    409: errorResponse("Nothing to roll back to"),
    422: errorResponse("The version before cannot be served; error.field names the manifest key"),
  },
});
const workersRoute = createRoute({
  method: "get",
  path: "/admin/workers",
  security,
  responses: {
    200: json("GPU workers", z.object({ workers: z.array(workerViewSchema) })),
    401: errorResponse("Bad token"),
  },
});

/**
 * A stored version that may become active. One stored before this edge knew SPEC §3's revision
 * is refused here, with the reason, rather than failing every budget request after activation.
 */
async function requireServable(db: EdgeDb, version: string): Promise<void> {
  const stored = await getVersion(db, version);
  if (stored === undefined) {
    throw new NotFoundError(`no stored version ${version}`, { field: "version" });
  }
  requireServedLsnrDefinition(bundleManifestSchema.parse(JSON.parse(stored.manifest)));
}

export function registerAdminRoutes(app: EdgeApp) {
  app.use("/admin/*", requireToken("ADMIN_TOKEN", "admin"));
  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", {
    type: "http",
    scheme: "bearer",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "workerToken", {
    type: "http",
    scheme: "bearer",
  });

  app.openapi(upload, async (c) => {
    const { manifestText, files } = await readUpload(c.req.raw);
    const manifest = parseManifest(manifestText);
    requireServedLsnrDefinition(manifest);
    if ((await getVersion(c.var.db, manifest.version)) !== undefined) {
      throw new BudgetFusionError("conflict", `version ${manifest.version} already exists`, {
        field: "manifest.version",
      });
    }
    await verifyFiles(manifest, files);
    const probe = await probeBundle(manifest, files);
    let total = 0;
    for (const [file, bytes] of files) {
      total += bytes.byteLength;
      await c.env.BLOBS.put(bundleKey(manifest.version, file), bytes);
    }
    await c.env.BLOBS.put(bundleKey(manifest.version, "manifest.json"), manifestText);
    const now = Date.now();
    await insertVersion(c.var.db, {
      version: manifest.version,
      manifest: manifestText,
      totalBytes: total,
      now,
    });
    return c.json(
      {
        version: manifest.version,
        active: false,
        created_at: new Date(now).toISOString(),
        total_bytes: total,
        embedding_runs_at: manifest.embedding.runs_at,
        diffusion_model: manifest.diffusion_model.id,
        probe_steps: probe.steps,
      },
      201,
    );
  });

  app.openapi(list, async (c) => {
    const active = await activeVersion(c.var.db);
    const rows = await listVersions(c.var.db);
    const bundles = rows.map((r) => {
      const m = bundleManifestSchema.parse(JSON.parse(r.manifest));
      return {
        version: r.version,
        active: r.version === active,
        created_at: new Date(r.createdAt).toISOString(),
        total_bytes: r.totalBytes,
        embedding_runs_at: m.embedding.runs_at,
        diffusion_model: m.diffusion_model.id,
      };
    });
    return c.json({ bundles }, 200);
  });

  app.openapi(activateRoute, async (c) => {
    const { version } = c.req.valid("param");
    await requireServable(c.var.db, version);
    // Loaded in this isolate first: a version that cannot load never becomes active.
    await activateVersion(c.var.db, c.env.BLOBS, version, Date.now());
    return c.json({ active: version }, 200);
  });

  app.openapi(rollbackRoute, async (c) => {
    const now = Date.now();
    const version = await rollback(c.var.db, now, (v) => requireServable(c.var.db, v));
    if (version === undefined) {
      throw new BudgetFusionError("conflict", "no previously active version to roll back to");
    }
    forgetActiveVersion();
    // One call returns to the previous state: a canary running beside it ends too.
    await abortRunningCanary(c.var.db, now);
    return c.json({ active: version }, 200);
  });

  app.openapi(workersRoute, async (c) => {
    const now = Date.now();
    const rows = await listWorkers(c.var.db);
    const workers = rows.map((w) => ({
      worker_id: w.id,
      url: w.url,
      model_id: w.modelId,
      capacity: w.capacity,
      queue_depth: w.queueDepth,
      in_flight: w.inFlight,
      healthy: isHealthy(w, now, c.var.config.heartbeatTtlMs),
      last_heartbeat_at: new Date(w.lastHeartbeatAt).toISOString(),
    }));
    return c.json({ workers }, 200);
  });
}
