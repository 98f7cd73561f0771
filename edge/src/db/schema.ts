/**
 * D1 schema (drizzle is the single source; drizzle-kit generates edge/migrations/, wrangler
 * applies them). Jobs, predictor versions and their activation history, GPU workers, and the
 * prompt-embedding cache for bundles whose embedding runs on the GPU pool (SPEC §7); consumer
 * API keys, which key owns which job, usage per key and day, and canary rollouts; the job
 * webhooks still to deliver; the GPU workers' own credentials.
 * Times are epoch milliseconds. Column names stay snake_case (drizzle `casing`).
 */
import { PLAN_NAMES } from "@budgetfusion/shared/schemas/consumer-api";
import { sql } from "drizzle-orm";
import {
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

export const predictorVersions = sqliteTable("predictor_versions", {
  version: text().primaryKey(),
  /** The verified manifest.json as uploaded. */
  manifest: text().notNull(),
  createdAt: integer().notNull(),
  /** Bytes of every stored file, for GET /admin/bundles. */
  totalBytes: integer().notNull(),
});

/** Append-only activation log: the active version is the newest row not rolled back. */
export const activations = sqliteTable("activations", {
  id: integer().primaryKey({ autoIncrement: true }),
  version: text()
    .notNull()
    .references(() => predictorVersions.version),
  activatedAt: integer().notNull(),
  rolledBackAt: integer(),
});

export const workers = sqliteTable("workers", {
  id: text().primaryKey(),
  url: text().notNull(),
  modelId: text().notNull(),
  capacity: integer().notNull(),
  queueDepth: integer().notNull(),
  inFlight: integer().notNull(),
  registeredAt: integer().notNull(),
  lastHeartbeatAt: integer().notNull(),
  /** Set when the worker failed a dispatch (connection error, 5xx); it rejoins on heartbeat. */
  unhealthyUntil: integer().notNull().default(0),
  consecutiveFailures: integer().notNull().default(0),
  /**
   * JSON array of the job ids the last heartbeat reported the worker holds; null when the
   * worker does not report them (the dispatcher then cannot tell a dropped attempt).
   */
  reportedJobs: text(),
});

/**
 * Per-worker credentials (POST /admin/worker-credentials): each is issued for one worker_id and
 * authenticates only that id's registration, heartbeats and deregistration. Only the SHA-256
 * digest is stored (keys/api-key-secret.ts, as for API keys); the secret is shown once.
 */
export const workerCredentials = sqliteTable(
  "worker_credentials",
  {
    id: text().primaryKey(),
    workerId: text().notNull(),
    name: text().notNull(),
    secretHash: text().notNull().unique(),
    prefix: text().notNull(),
    createdAt: integer().notNull(),
    revokedAt: integer(),
  },
  (t) => [index("worker_credentials_worker_idx").on(t.workerId, t.revokedAt)],
);

export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const jobs = sqliteTable(
  "jobs",
  {
    id: text().primaryKey(),
    status: text({ enum: JOB_STATUSES }).notNull(),
    /** Monotonic dispatch attempt; completion is conditional on (status, attempt). */
    attempt: integer().notNull().default(0),
    request: text().notNull(),
    steps: integer().notNull(),
    stepsSource: text({ enum: ["auto", "fixed"] }).notNull(),
    seed: integer().notNull(),
    predictorVersion: text(),
    workerId: text(),
    createdAt: integer().notNull(),
    startedAt: integer(),
    finishedAt: integer(),
    /** While running: when the attempt is presumed lost and the job re-queued. */
    leaseUntil: integer(),
    /** While queued: earliest time of the next dispatch (backoff). */
    notBefore: integer().notNull().default(0),
    imageKey: text(),
    timings: text(),
    errorCode: text(),
    errorMessage: text(),
    /**
     * The dispatcher shard that owns the job for its whole life, `<model>/<index>`
     * (dispatch/shards.ts); the default is the model-less shard 0.
     */
    dispatchShard: text().notNull().default("*/0"),
  },
  (t) => [
    index("jobs_status_idx").on(t.status, t.notBefore),
    index("jobs_shard_status_idx").on(t.dispatchShard, t.status, t.notBefore),
  ],
);

export const embeddingCache = sqliteTable("embedding_cache", {
  /** sha256(model_id + "\n" + prompt), hex. */
  key: text().primaryKey(),
  modelId: text().notNull(),
  width: integer().notNull(),
  /** base64 of the float32 values' bytes (runtime/base64.ts; migration 0006). */
  vector: text().notNull(),
  createdAt: integer().notNull(),
});

/** Consumer API keys. Only the SHA-256 digest of a key is stored; the key is shown once. */
export const apiKeys = sqliteTable("api_keys", {
  id: text().primaryKey(),
  name: text().notNull(),
  plan: text({ enum: PLAN_NAMES }).notNull(),
  /** sha256(key), hex: what a request's key is looked up by. */
  keyHash: text().notNull().unique(),
  prefix: text().notNull(),
  baselineSteps: integer().notNull(),
  concurrentJobs: integer().notNull(),
  createdAt: integer().notNull(),
  revokedAt: integer(),
});

/**
 * Which key a job is billed to (the anonymous consumer of local mode included), written just
 * before the job row. While unsettled, the row is the job's slot under its key's
 * concurrent-jobs cap; settling it (once, when the job finishes) is what lets the outcome be
 * added to usage_daily exactly once.
 */
export const jobOwners = sqliteTable(
  "job_owners",
  {
    jobId: text().primaryKey(),
    keyId: text().notNull(),
    /** The key's baseline when the job was accepted, so later changes do not rewrite history. */
    baselineSteps: integer().notNull(),
    createdAt: integer().notNull(),
    /** When the job's outcome was counted in usage_daily; null while queued or running. */
    settledAt: integer(),
  },
  (t) => [index("job_owners_open_idx").on(t.keyId, t.settledAt)],
);

/** Usage and savings per key and UTC day (`YYYY-MM-DD`); counters only ever grow. */
export const usageDaily = sqliteTable(
  "usage_daily",
  {
    keyId: text().notNull(),
    day: text().notNull(),
    budgets: integer().notNull().default(0),
    budgetSteps: integer().notNull().default(0),
    budgetStepsSavedVsBaseline: integer().notNull().default(0),
    budgetStepsSavedVsReference: integer().notNull().default(0),
    jobs: integer().notNull().default(0),
    stepsRequested: integer().notNull().default(0),
    jobsSucceeded: integer().notNull().default(0),
    jobsFailed: integer().notNull().default(0),
    jobsCanceled: integer().notNull().default(0),
    stepsSpent: integer().notNull().default(0),
    gpuSeconds: real().notNull().default(0),
    autoJobs: integer().notNull().default(0),
    stepsSavedVsBaseline: integer().notNull().default(0),
    stepsSavedVsReference: integer().notNull().default(0),
    gpuSecondsSavedVsBaseline: real().notNull().default(0),
    gpuSecondsSavedVsReference: real().notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.keyId, t.day] })],
);

export const CANARY_STATUSES = ["running", "promoted", "aborted"] as const;

/** Canary rollouts of a candidate bundle; at most one is running (a partial unique index). */
export const canaries = sqliteTable(
  "canaries",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    version: text()
      .notNull()
      .references(() => predictorVersions.version),
    stableVersion: text().notNull(),
    share: real().notNull(),
    status: text({ enum: CANARY_STATUSES }).notNull(),
    startedAt: integer().notNull(),
    endedAt: integer(),
    /** Budgets computed while it ran, and how many of them the candidate served. */
    budgets: integer().notNull().default(0),
    canaryBudgets: integer().notNull().default(0),
  },
  (t) => [
    index("canaries_version_idx").on(t.version, t.startedAt),
    // Two operators starting canaries at once: the second insert fails instead of splitting twice.
    uniqueIndex("canaries_one_running").on(t.status).where(sql`status = 'running'`),
  ],
);

/** Both bundles' t* for a canary prompt (the prompt itself is not kept, only its digest). */
export const canarySamples = sqliteTable(
  "canary_samples",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    canaryId: integer()
      .notNull()
      .references(() => canaries.id),
    promptSha256: text().notNull(),
    stableVersion: text().notNull(),
    canarySteps: integer().notNull(),
    stableSteps: integer().notNull(),
    createdAt: integer().notNull(),
  },
  (t) => [index("canary_samples_canary_idx").on(t.canaryId)],
);

/**
 * One webhook event of a job (edge/src/dispatch/job-webhooks.ts), kept until it is delivered or
 * its bounded attempts are spent, so a retry survives the dispatcher's restart. The payload is
 * fixed when the event happens; each attempt signs it afresh.
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    /** The webhook-id: `msg_<job>_<event>`, so an event is stored (and sent) once. */
    id: text().primaryKey(),
    jobId: text().notNull(),
    url: text().notNull(),
    type: text().notNull(),
    /** JSON of the event's data (the job's public view). */
    data: text().notNull(),
    attempts: integer().notNull().default(0),
    /** When the next attempt is due; null once delivered or given up. */
    nextAttemptAt: integer(),
    deliveredAt: integer(),
    lastStatus: integer(),
    lastError: text(),
    createdAt: integer().notNull(),
  },
  (t) => [index("webhook_deliveries_due_idx").on(t.nextAttemptAt)],
);
