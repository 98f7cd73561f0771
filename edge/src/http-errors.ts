/**
 * The single map from domain error codes (shared/src/errors.ts) to HTTP statuses, and the one
 * JSON error body every 4xx/5xx carries: {error: {code, message, field?, details?, requestId}}.
 */
import { BudgetFusionError, QueueFullError } from "@budgetfusion/shared/errors";
import type { ErrorBody } from "@budgetfusion/shared/schemas/edge-api";
import type { ContentfulStatusCode } from "hono/utils/http-status";

const STATUS_BY_CODE: Record<string, ContentfulStatusCode> = {
  invalid_request: 400,
  invalid_bundle: 422,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  queue_full: 429,
  not_ready: 503,
  no_workers: 503,
  upstream_failed: 502,
  timeout: 504,
  model_load_failed: 503,
  invalid_config: 500,
  shape_mismatch: 500,
};

export function statusFor(code: string): ContentfulStatusCode {
  return STATUS_BY_CODE[code] ?? 500;
}

export function errorBody(err: BudgetFusionError, requestId: string): ErrorBody {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.field === undefined ? {} : { field: err.field }),
      ...(err.details === undefined ? {} : { details: err.details }),
      requestId,
    },
  };
}

export function errorHeaders(err: BudgetFusionError): Record<string, string> {
  return err instanceof QueueFullError
    ? { "retry-after": String(Math.max(1, Math.ceil(err.retryAfterSeconds))) }
    : {};
}
