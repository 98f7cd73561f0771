/**
 * The edge's bindings (wrangler.toml) and the settings parsed from them once per request.
 * Secrets ADMIN_TOKEN and WORKER_TOKEN come from `.dev.vars` locally and `wrangler secret` in
 * production.
 */
import { ConfigError } from "@budgetfusion/shared/errors";
import type { Dispatcher } from "./dispatch/dispatcher";

export interface EdgeBindings {
  DB: D1Database;
  BLOBS: R2Bucket;
  DISPATCHER: DurableObjectNamespace<Dispatcher>;
  ADMIN_TOKEN?: string;
  WORKER_TOKEN?: string;
  HEARTBEAT_INTERVAL_S?: string;
  HEARTBEAT_MISSES?: string;
  JOB_ATTEMPT_TIMEOUT_S?: string;
  JOB_MAX_ATTEMPTS?: string;
}

export interface EdgeConfig {
  heartbeatIntervalS: number;
  /** A worker whose last heartbeat is older than this leaves the rotation. */
  heartbeatTtlMs: number;
  attemptTimeoutMs: number;
  maxAttempts: number;
}

function positive(env: EdgeBindings, key: keyof EdgeBindings, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new ConfigError(`${String(key)} must be a positive number, got "${String(raw)}"`, {
      field: String(key),
    });
  }
  return n;
}

export function edgeConfig(env: EdgeBindings): EdgeConfig {
  const heartbeatIntervalS = positive(env, "HEARTBEAT_INTERVAL_S", 5);
  return {
    heartbeatIntervalS,
    heartbeatTtlMs: heartbeatIntervalS * positive(env, "HEARTBEAT_MISSES", 3) * 1000,
    attemptTimeoutMs: positive(env, "JOB_ATTEMPT_TIMEOUT_S", 300) * 1000,
    maxAttempts: positive(env, "JOB_MAX_ATTEMPTS", 5),
  };
}
