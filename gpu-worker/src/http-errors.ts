/**
 * The worker's one mapping from domain errors to HTTP (STYLE.md "Errors and HTTP shape"): a status
 * per error code and the JSON error body both apps share (shared/src/schemas/error-body.ts).
 * Unknown errors are logged and become internal_error 500 without internals.
 */
import { BudgetFusionError, MethodNotAllowedError } from "@budgetfusion/shared/errors";
import { errorBody, errorHeaders, frameworkError } from "@budgetfusion/shared/schemas/error-body";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** The worker cannot serve yet or any more (models loading, shutting down). */
export class NotReadyError extends BudgetFusionError {
  constructor(message = "models are still loading") {
    super("not_ready", message);
    this.name = "NotReadyError";
  }
}

/** A feature whose model is not configured on this worker (e.g. /v1/embed without CLIP). */
export class NotConfiguredError extends BudgetFusionError {
  constructor(message: string) {
    super("not_configured", message);
    this.name = "NotConfiguredError";
  }
}

const STATUS_BY_CODE: Record<string, number> = {
  invalid_request: 400,
  invalid_config: 400,
  shape_mismatch: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  // The request's settings make this model diverge; another worker would compute the same.
  non_finite: 422,
  queue_full: 429,
  // nginx's "client closed request": nobody reads it, but metrics and logs tell it apart.
  cancelled: 499,
  model_load_failed: 500,
  not_configured: 501,
  upstream_failed: 502,
  not_ready: 503,
  shutting_down: 503,
  timeout: 504,
};

/** Seconds a client should wait before retrying a 503. */
const RETRY_AFTER_UNAVAILABLE_S = 5;

/** For any context (handler, middleware, onError): requestId is hono/request-id's variable. */
export function errorResponse(c: Context, err: BudgetFusionError): Response {
  const status = STATUS_BY_CODE[err.code] ?? 500;
  const headers = errorHeaders(err);
  if (status === 503) headers["retry-after"] ??= String(RETRY_AFTER_UNAVAILABLE_S);
  // Hono types the status as a literal union; the table only holds valid codes.
  return c.json(errorBody(err, c.var.requestId), status as ContentfulStatusCode, headers);
}

/** hono/method-not-allowed's answer: 405 with the Allow header and the error body. */
export function refuseMethod(c: Context, allowed: string[]): Response {
  return errorResponse(c, new MethodNotAllowedError(c.req.method, c.req.path, allowed));
}

/** onError: the response for anything a route threw; server-side failures are logged. */
export function handleError(
  err: unknown,
  c: Context,
  log: (msg: string, err: unknown) => void,
): Response {
  if (err instanceof BudgetFusionError) {
    const res = errorResponse(c, err);
    if (res.status >= 500 && res.status !== 503 && res.status !== 504) log("request failed", err);
    return res;
  }
  // Middleware that built its own error response (bearerAuth's refusals) keeps it.
  if (err instanceof HTTPException && err.res !== undefined) return err.getResponse();
  if (err instanceof HTTPException && err.status < 500) {
    return errorResponse(c, frameworkError(err.status, err.message, c.req.header("content-type")));
  }
  log("unexpected error", err);
  return errorResponse(c, new BudgetFusionError("internal_error", "internal error"));
}
