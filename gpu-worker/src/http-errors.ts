/**
 * The worker's one mapping from domain errors to HTTP (STYLE.md "Errors and HTTP shape"): a status
 * per error code and one JSON body {error: {code, message, field?}}. Unknown errors are logged and
 * become internal_error 500 without internals.
 */
import { BudgetFusionError, QueueFullError } from "@budgetfusion/shared/errors";
import type { WorkerErrorBody } from "@budgetfusion/shared/schemas/worker-api";

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

export interface HttpError {
  status: number;
  body: WorkerErrorBody;
  headers: Record<string, string>;
}

export function toHttpError(err: unknown, log: (msg: string, err: unknown) => void): HttpError {
  if (err instanceof BudgetFusionError) {
    const status = STATUS_BY_CODE[err.code] ?? 500;
    const headers: Record<string, string> = {};
    if (err instanceof QueueFullError) headers["retry-after"] = String(err.retryAfterSeconds);
    else if (status === 503) headers["retry-after"] = String(RETRY_AFTER_UNAVAILABLE_S);
    if (status >= 500 && status !== 503 && status !== 504) log("request failed", err);
    const error: WorkerErrorBody["error"] = { code: err.code, message: err.message };
    if (err.field !== undefined) error.field = err.field;
    return { status, body: { error }, headers };
  }
  log("unexpected error", err);
  return {
    status: 500,
    body: { error: { code: "internal_error", message: "internal error" } },
    headers: {},
  };
}
