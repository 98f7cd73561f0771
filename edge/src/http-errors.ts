/**
 * The single map from domain error codes (shared/src/errors.ts) to HTTP statuses, and the one
 * JSON error response every 4xx/5xx is (body: shared/src/schemas/error-body.ts).
 */
import { type BudgetFusionError, MethodNotAllowedError } from "@budgetfusion/shared/errors";
import { errorBody, errorHeaders } from "@budgetfusion/shared/schemas/error-body";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

const STATUS_BY_CODE: Record<string, ContentfulStatusCode> = {
  invalid_request: 400,
  invalid_bundle: 422,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  queue_full: 429,
  rate_limited: 429,
  not_ready: 503,
  no_workers: 503,
  upstream_failed: 502,
  timeout: 504,
  model_load_failed: 503,
  invalid_config: 500,
  shape_mismatch: 500,
};

function statusFor(code: string): ContentfulStatusCode {
  return STATUS_BY_CODE[code] ?? 500;
}

/** For any context (handler, middleware, onError): requestId is hono/request-id's variable. */
export function errorResponse(c: Context, err: BudgetFusionError): Response {
  return c.json(errorBody(err, c.var.requestId), statusFor(err.code), errorHeaders(err));
}

/** hono/method-not-allowed's answer: 405 with the Allow header and the error body. */
export function refuseMethod(c: Context, allowed: string[]): Response {
  return errorResponse(c, new MethodNotAllowedError(c.req.method, c.req.path, allowed));
}
