/**
 * D1 schema (drizzle is the single source; drizzle-kit generates edge/migrations/, wrangler
 * applies them). Jobs, predictor versions and their activation history, GPU workers, and the
 * prompt-embedding cache for bundles whose embedding runs on the GPU pool (SPEC §7).
 * Times are epoch milliseconds. Column names stay snake_case (drizzle `casing`).
 */
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

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
});

export const JOB_STATUSES = ["queued", "running", "succeeded", "failed"] as const;
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
  },
  (t) => [index("jobs_status_idx").on(t.status, t.notBefore)],
);

export const embeddingCache = sqliteTable("embedding_cache", {
  /** sha256(model_id + "\n" + prompt), hex. */
  key: text().primaryKey(),
  modelId: text().notNull(),
  width: integer().notNull(),
  /** JSON array of the float32 values (exact: every float32 prints and parses back exactly). */
  vector: text().notNull(),
  createdAt: integer().notNull(),
});
