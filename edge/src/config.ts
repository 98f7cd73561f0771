/**
 * The edge's settings, parsed from its vars once per request. The bindings themselves are typed
 * by `Env`, which `npm run types:edge` generates from wrangler.toml (edge/worker-configuration.d.ts).
 */
import { ConfigError } from "@budgetfusion/shared/errors";
import { secretProblem } from "@budgetfusion/shared/webhooks/signed-webhook";

export interface EdgeConfig {
  heartbeatIntervalS: number;
  /** A worker whose last heartbeat is older than this leaves the rotation. */
  heartbeatTtlMs: number;
  attemptTimeoutMs: number;
  /** Default seconds an accepted job may take before it fails (POST /v1/generate deadline_s). */
  jobDeadlineS: number;
  /** Queued jobs per diffusion model above which POST /v1/generate answers 429. */
  queueLimit: number;
  /** Dispatcher Durable Objects per diffusion model (dispatch/shards.ts). */
  dispatcherShards: number;
  /** URLPatterns a registering worker's url must match; empty: any http(s) URL. */
  workerUrlPatterns: URLPattern[];
  /** A worker record silent for longer than this is deleted. */
  workerRecordTtlMs: number;
  /** Largest bundle upload accepted (multipart bytes), POST /admin/bundles. */
  bundleUploadMaxBytes: number;
  /** "required": every consumer route needs an API key; "optional": npm start's local mode. */
  apiKeys: ApiKeyMode;
  /** WEBHOOK_SECRET ("whsec_" + base64): signs job webhooks; unset, jobs cannot ask for them. */
  webhookSecret?: string;
  /** BUDGET_CACHE_API: when the budget cache uses the Cache API tier (budget-cache.ts usesCacheApi). */
  budgetCacheApi: BudgetCacheApiMode;
}

/** One of `modes`, or `fallback` when the var is absent or empty; anything else names the var. */
function modeVar<M extends string>(
  name: string,
  raw: string | undefined,
  modes: readonly M[],
  fallback: M,
): M {
  if (raw === undefined || raw === "") return fallback;
  const mode = modes.find((m) => m === raw);
  if (mode === undefined) {
    const quoted = modes.map((m) => `"${m}"`);
    const choices = `${quoted.slice(0, -1).join(", ")} or ${quoted[quoted.length - 1]}`;
    throw new ConfigError(`${name} must be ${choices}, got "${raw}"`, { field: name });
  }
  return mode;
}

const BUDGET_CACHE_API_MODES = ["auto", "always", "never"] as const;
export type BudgetCacheApiMode = (typeof BUDGET_CACHE_API_MODES)[number];

/** BUDGET_CACHE_API, optional (so absent from the generated Env); absent means "auto". */
function budgetCacheApiMode(env: Env): BudgetCacheApiMode {
  const raw = (env as { BUDGET_CACHE_API?: string }).BUDGET_CACHE_API;
  return modeVar("BUDGET_CACHE_API", raw, BUDGET_CACHE_API_MODES, "auto");
}

const API_KEY_MODES = ["required", "optional"] as const;
export type ApiKeyMode = (typeof API_KEY_MODES)[number];

/** API_KEYS; absent means required, so a deployment whose var was dropped stays protected. */
function apiKeyMode(env: Env): ApiKeyMode {
  return modeVar("API_KEYS", env.API_KEYS, API_KEY_MODES, "required");
}

/** 32 MiB: several times today's bundles, and well inside a Worker's 128 MB of memory. */
const DEFAULT_BUNDLE_UPLOAD_MAX_BYTES = 32 * 1024 * 1024;

type Var =
  | "HEARTBEAT_INTERVAL_S"
  | "HEARTBEAT_MISSES"
  | "JOB_ATTEMPT_TIMEOUT_S"
  | "JOB_DEADLINE_S"
  | "JOB_QUEUE_LIMIT"
  | "DISPATCHER_SHARDS"
  | "WORKER_RECORD_TTL_S"
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

/** WORKER_URL_PATTERNS: comma-separated URLPattern strings, e.g. "https://*.gpu.example.com/*". */
function urlPatterns(env: Env): URLPattern[] {
  // An optional var, so absent from the Env that wrangler types generates.
  const raw: string | undefined = (env as { WORKER_URL_PATTERNS?: string }).WORKER_URL_PATTERNS;
  if (raw === undefined || raw.trim() === "") return [];
  return raw
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .map((p) => {
      try {
        return new URLPattern(p);
      } catch {
        throw new ConfigError(`WORKER_URL_PATTERNS: "${p}" is not a URL pattern`, {
          field: "WORKER_URL_PATTERNS",
        });
      }
    });
}

/** WEBHOOK_SECRET, an optional secret (so absent from the generated Env). */
function webhookSecret(env: Env): string | undefined {
  const raw: string | undefined = (env as { WEBHOOK_SECRET?: string }).WEBHOOK_SECRET;
  if (raw === undefined || raw === "") return undefined;
  const problem = secretProblem(raw);
  if (problem !== undefined) {
    throw new ConfigError(`WEBHOOK_SECRET ${problem}`, { field: "WEBHOOK_SECRET" });
  }
  return raw;
}

/** Enough for ~64,000 requests/s of one model at a Durable Object's ~1,000 each. */
const MAX_DISPATCHER_SHARDS = 64;

function dispatcherShards(env: Env): number {
  const n = positive(env, "DISPATCHER_SHARDS", 1);
  if (!Number.isInteger(n) || n > MAX_DISPATCHER_SHARDS) {
    throw new ConfigError(
      `DISPATCHER_SHARDS must be a whole number from 1 to ${MAX_DISPATCHER_SHARDS}, got "${n}"`,
      { field: "DISPATCHER_SHARDS" },
    );
  }
  return n;
}

export function edgeConfig(env: Env): EdgeConfig {
  const heartbeatIntervalS = positive(env, "HEARTBEAT_INTERVAL_S", 5);
  return {
    heartbeatIntervalS,
    heartbeatTtlMs: heartbeatIntervalS * positive(env, "HEARTBEAT_MISSES", 3) * 1000,
    attemptTimeoutMs: positive(env, "JOB_ATTEMPT_TIMEOUT_S", 300) * 1000,
    jobDeadlineS: positive(env, "JOB_DEADLINE_S", 600),
    queueLimit: Math.floor(positive(env, "JOB_QUEUE_LIMIT", 256)),
    dispatcherShards: dispatcherShards(env),
    workerUrlPatterns: urlPatterns(env),
    workerRecordTtlMs: positive(env, "WORKER_RECORD_TTL_S", 3600) * 1000,
    bundleUploadMaxBytes: Math.floor(
      positive(env, "BUNDLE_UPLOAD_MAX_BYTES", DEFAULT_BUNDLE_UPLOAD_MAX_BYTES),
    ),
    apiKeys: apiKeyMode(env),
    webhookSecret: webhookSecret(env),
    budgetCacheApi: budgetCacheApiMode(env),
  };
}
