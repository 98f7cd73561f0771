/**
 * The one JSON error body both HTTP apps (edge and GPU worker) answer every 4xx/5xx with:
 * {error: {code, message, field?, details?, requestId}}. Each app keeps its own code -> status
 * table; the body, and how framework-level failures become domain errors, are defined here once.
 */
import { z } from "zod";
import {
  BudgetFusionError,
  MethodNotAllowedError,
  NoWorkersError,
  PayloadTooLargeError,
  QueueFullError,
  RateLimitedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "../errors";

export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    /** The offending field: a dotted body path, or a header such as "authorization". */
    field: z.string().optional(),
    details: z.unknown().optional(),
    /** Echoes the X-Request-Id response header, for finding the request in logs. */
    requestId: z.string(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

export const JSON_MEDIA_TYPE = "application/json";

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

/** Headers an error implies: Retry-After (whole seconds) under back-pressure, Allow on a 405. */
export function errorHeaders(err: BudgetFusionError): Record<string, string> {
  if (
    err instanceof QueueFullError ||
    err instanceof NoWorkersError ||
    err instanceof RateLimitedError
  ) {
    return { "retry-after": String(Math.max(1, Math.ceil(err.retryAfterSeconds))) };
  }
  if (err instanceof MethodNotAllowedError) return { allow: err.allowed.join(", ") };
  return {};
}

/** The refusal a body-limit middleware calls when a body passes `limitBytes`: a 413 naming it. */
export function refuseBodyOver(limitBytes: number): () => never {
  return () => {
    throw new PayloadTooLargeError(limitBytes);
  };
}

/**
 * The domain error for a failure the HTTP framework itself reports with a status and a message
 * before any handler runs: malformed JSON is a 400 naming the body, a media type the route does
 * not take a 415 naming content-type, any other 4xx an invalid request; a 5xx says nothing more.
 */
export function frameworkError(
  status: number,
  message: string,
  contentType: string | undefined,
): BudgetFusionError {
  if (status === 400) return new ValidationError(message, { field: "body" });
  if (status === 415) return new UnsupportedMediaTypeError(JSON_MEDIA_TYPE, contentType);
  if (status < 500) return new BudgetFusionError("invalid_request", message);
  return new BudgetFusionError("internal_error", "internal error");
}
