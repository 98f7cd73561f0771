/**
 * Request-body limits (hono/body-limit) for every route that takes a body. A body over its
 * route's limit is refused with 413 payload_too_large naming the limit, without being read
 * whole: at once when Content-Length says so, else as soon as the streamed bytes pass it.
 */
import { refuseBodyOver } from "@budgetfusion/shared/schemas/error-body";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";

/**
 * Bytes per JSON route: a few times the largest valid body (prompts of 2000 characters at up to
 * 6 bytes each when JSON-escaped, shared/src/schemas/edge-api.ts), so no valid request is refused.
 */
export const BODY_LIMITS = {
  /** POST /v1/budget: one prompt and a few numbers. */
  budget: 16 * 1024,
  /** POST /v1/generate: a prompt and a negative prompt. */
  generate: 32 * 1024,
  /** POST /v1/workers/register and /heartbeat: a worker's status (up to 1024 job ids of 64). */
  workerStatus: 80 * 1024,
} as const;

export const limitBody = (maxSize: number) =>
  bodyLimit({ maxSize, onError: refuseBodyOver(maxSize) });

/** POST /admin/bundles: its limit is the BUNDLE_UPLOAD_MAX_BYTES setting (bundles hold models). */
export const limitBundleUpload = createMiddleware<AppEnv>((c, next) =>
  limitBody(c.var.config.bundleUploadMaxBytes)(c, next),
);
