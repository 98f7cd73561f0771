/**
 * The edge's settings, parsed from its vars once per request. The bindings themselves are typed
 * by `Env`, which `npm run types:edge` generates from wrangler.toml (edge/worker-configuration.d.ts).
 */
import { ConfigError } from "@budgetfusion/shared/errors";

export interface EdgeConfig {
  heartbeatIntervalS: number;
  /** A worker whose last heartbeat is older than this leaves the rotation. */
  heartbeatTtlMs: number;
  attemptTimeoutMs: number;
  maxAttempts: number;
  /** Largest bundle upload accepted (multipart bytes), POST /admin/bundles. */
  bundleUploadMaxBytes: number;
  /** "required": every consumer route needs an API key; "optional": npm start's local mode. */
  apiKeys: ApiKeyMode;
}

const API_KEY_MODES = ["required", "optional"] as const;
export type ApiKeyMode = (typeof API_KEY_MODES)[number];

/** API_KEYS; absent means required, so a deployment whose var was dropped stays protected. */
function apiKeyMode(env: Env): ApiKeyMode {
  const raw: string | undefined = env.API_KEYS;
  if (raw === undefined || raw === "") return "required";
  const mode = API_KEY_MODES.find((m) => m === raw);
  if (mode === undefined) {
    throw new ConfigError(`API_KEYS must be "required" or "optional", got "${raw}"`, {
      field: "API_KEYS",
    });
  }
  return mode;
}

/** 32 MiB: several times today's bundles, and well inside a Worker's 128 MB of memory. */
const DEFAULT_BUNDLE_UPLOAD_MAX_BYTES = 32 * 1024 * 1024;

type Var =
  | "HEARTBEAT_INTERVAL_S"
  | "HEARTBEAT_MISSES"
  | "JOB_ATTEMPT_TIMEOUT_S"
  | "JOB_MAX_ATTEMPTS"
  | "BUNDLE_UPLOAD_MAX_BYTES";

function positive(env: Env, key: Var, fallback: number): number {
  // A var deleted from wrangler.toml is absent at run time, whatever the generated type says.
  const raw: string | undefined = env[key];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new ConfigError(`${key} must be a positive number, got "${raw}"`, { field: key });
  }
  return n;
}

export function edgeConfig(env: Env): EdgeConfig {
  const heartbeatIntervalS = positive(env, "HEARTBEAT_INTERVAL_S", 5);
  return {
    heartbeatIntervalS,
    heartbeatTtlMs: heartbeatIntervalS * positive(env, "HEARTBEAT_MISSES", 3) * 1000,
    attemptTimeoutMs: positive(env, "JOB_ATTEMPT_TIMEOUT_S", 300) * 1000,
    maxAttempts: positive(env, "JOB_MAX_ATTEMPTS", 5),
    bundleUploadMaxBytes: Math.floor(
      positive(env, "BUNDLE_UPLOAD_MAX_BYTES", DEFAULT_BUNDLE_UPLOAD_MAX_BYTES),
    ),
    apiKeys: apiKeyMode(env),
  };
}
