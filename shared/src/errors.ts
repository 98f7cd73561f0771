/**
 * Domain errors shared by every BudgetFusion package. Only the apps know HTTP: each app maps
 * `code` to a status in one table (see each app's error handler).
 */

export interface ErrorOptions {
  field?: string;
  details?: unknown;
  cause?: unknown;
}

export class BudgetFusionError extends Error {
  readonly code: string;
  readonly field?: string;
  readonly details?: unknown;

  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "BudgetFusionError";
    this.code = code;
    this.field = options.field;
    this.details = options.details;
  }
}

/** Bad input from a caller; `field` names the offending field (dotted path). */
export class ValidationError extends BudgetFusionError {
  constructor(message: string, options: ErrorOptions = {}) {
    super("invalid_request", message, options);
    this.name = "ValidationError";
  }
}

/** A configuration file or value the system cannot honour; `field` names the key. */
export class ConfigError extends BudgetFusionError {
  constructor(message: string, options: ErrorOptions = {}) {
    super("invalid_config", message, options);
    this.name = "ConfigError";
  }
}

/** A model or artifact that cannot be loaded (missing file, wrong layout, bad checksum). */
export class ModelLoadError extends BudgetFusionError {
  constructor(message: string, options: ErrorOptions = {}) {
    super("model_load_failed", message, options);
    this.name = "ModelLoadError";
  }
}

/** A tensor or array whose shape or length does not match what the computation needs. */
export class ShapeError extends BudgetFusionError {
  constructor(message: string, options: ErrorOptions = {}) {
    super("shape_mismatch", message, options);
    this.name = "ShapeError";
  }
}

export class NotFoundError extends BudgetFusionError {
  constructor(message: string, options: ErrorOptions = {}) {
    super("not_found", message, options);
    this.name = "NotFoundError";
  }
}

export class UnauthorizedError extends BudgetFusionError {
  constructor(message = "missing or invalid bearer token", options: ErrorOptions = {}) {
    super("unauthorized", message, options);
    this.name = "UnauthorizedError";
  }
}

/** Back-pressure: the caller should retry after `retryAfterSeconds`. */
export class QueueFullError extends BudgetFusionError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number, options: ErrorOptions = {}) {
    super("queue_full", message, options);
    this.name = "QueueFullError";
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * A computation produced NaN or Inf; `field` names the stage (unet, scheduler, vae). SD2-768
 * v-prediction in fp16 is known to do this in ONNX Runtime, as do out-of-range scheduler betas.
 */
export class NonFiniteError extends BudgetFusionError {
  constructor(message: string, options: ErrorOptions = {}) {
    super("non_finite", message, options);
    this.name = "NonFiniteError";
  }
}

/** No GPU worker alive can serve the model: the caller should retry after `retryAfterSeconds`. */
export class NoWorkersError extends BudgetFusionError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number, options: ErrorOptions = {}) {
    super("no_workers", message, options);
    this.name = "NoWorkersError";
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * A consumer went past one of its API key's limits (`limit` names it, e.g. "budgets_per_minute"
 * or "concurrent_jobs"); the caller may retry after `retryAfterSeconds`.
 */
export class RateLimitedError extends BudgetFusionError {
  readonly limit: string;
  readonly retryAfterSeconds: number;
  constructor(limit: string, message: string, retryAfterSeconds: number, details: object = {}) {
    super("rate_limited", message, { details: { limit, ...details } });
    this.name = "RateLimitedError";
    this.limit = limit;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A dependency (GPU worker, embedding service) failed or timed out. */
export class UpstreamError extends BudgetFusionError {
  constructor(message: string, options: ErrorOptions = {}) {
    super("upstream_failed", message, options);
    this.name = "UpstreamError";
  }
}

export class TimeoutError extends BudgetFusionError {
  constructor(message: string, options: ErrorOptions = {}) {
    super("timeout", message, options);
    this.name = "TimeoutError";
  }
}

/** A request body over the route's limit; `limitBytes` is reported so clients can size uploads. */
export class PayloadTooLargeError extends BudgetFusionError {
  readonly limitBytes: number;
  constructor(limitBytes: number, options: ErrorOptions = {}) {
    super("payload_too_large", `request body exceeds the limit of ${limitBytes} bytes`, {
      field: "body",
      details: { limit_bytes: limitBytes },
      ...options,
    });
    this.name = "PayloadTooLargeError";
    this.limitBytes = limitBytes;
  }
}

/** A body in a media type the route does not take; the field is the content-type header. */
export class UnsupportedMediaTypeError extends BudgetFusionError {
  constructor(expected: string, given: string | undefined, options: ErrorOptions = {}) {
    super(
      "unsupported_media_type",
      `content-type ${given === undefined || given === "" ? "is missing" : `"${given}" is not accepted`}: send ${expected}`,
      { field: "content-type", ...options },
    );
    this.name = "UnsupportedMediaTypeError";
  }
}

/** A known path asked with a method it does not serve; `allowed` becomes the Allow header. */
export class MethodNotAllowedError extends BudgetFusionError {
  readonly allowed: readonly string[];
  constructor(method: string, path: string, allowed: readonly string[]) {
    super("method_not_allowed", `${method} is not allowed on ${path}; use ${allowed.join(", ")}`, {
      details: { allow: allowed },
    });
    this.name = "MethodNotAllowedError";
    this.allowed = allowed;
  }
}
