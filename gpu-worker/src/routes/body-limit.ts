/**
 * Request-body limits (hono/body-limit) of the worker's routes. A body over its route's limit is
 * refused with 413 payload_too_large naming the limit, without being read whole: at once when
 * Content-Length says so, else as soon as the streamed bytes pass it.
 */
import { refuseBodyOver } from "@budgetfusion/shared/schemas/error-body";
import { bodyLimit } from "hono/body-limit";

/**
 * Bytes per route: above the largest valid body (shared/src/schemas/worker-api.ts: texts of 2000
 * characters at up to 6 bytes each when JSON-escaped), so no valid request is refused.
 */
export const BODY_LIMITS = {
  /** POST /v1/generate: up to 8 prompts, a negative prompt and scheduler overrides. */
  generate: 128 * 1024,
  /** POST /v1/embed: up to 64 texts. */
  embed: 1024 * 1024,
} as const;

export const limitBody = (maxSize: number) =>
  bodyLimit({ maxSize, onError: refuseBodyOver(maxSize) });
