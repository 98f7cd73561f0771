/**
 * Dataset database (SQLite through drizzle-orm + better-sqlite3): the source of truth for which
 * images of the dataset protocol (SPEC §2, paper 3.1) exist and for their metrics (SPEC §3).
 * Migrations are generated from this file by drizzle-kit (training/drizzle.config.ts) into
 * training/src/db/migrations. Column names are snake_case in SQLite (drizzle `casing`).
 */
import { integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Prompts of the run (ids from the prompt set, paper 3.1 split). */
export const prompts = sqliteTable("prompts", {
  id: integer().primaryKey(),
  text: text().notNull(),
  split: text({ enum: ["train", "test"] }).notNull(),
});

/** One row per generated image I(p, t, s); the PNG file is written before the row. */
export const images = sqliteTable(
  "images",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    promptId: integer()
      .notNull()
      .references(() => prompts.id),
    steps: integer().notNull(),
    seed: integer().notNull(),
    /** Path of the PNG relative to the run directory. */
    file: text().notNull(),
    sha256: text().notNull(),
    bytes: integer().notNull(),
    /** Generation wall time in ms (0 when the row was reconciled from an orphan file). */
    genMs: real().notNull(),
    createdAt: text().notNull(),
  },
  (t) => [uniqueIndex("images_prompt_steps_seed").on(t.promptId, t.steps, t.seed)],
);

/** Per-image metrics (SPEC §3); D-SIM and I-CLIP are against I(p, 129, s). */
export const imageMetrics = sqliteTable(
  "image_metrics",
  {
    promptId: integer().notNull(),
    steps: integer().notNull(),
    seed: integer().notNull(),
    lsnr: real().notNull(),
    dsim: real().notNull(),
    iclip: real().notNull(),
  },
  (t) => [primaryKey({ columns: [t.promptId, t.steps, t.seed] })],
);

/** Metrics averaged over seeds (paper Eq. 5): the training targets at the sampled steps. */
export const metrics = sqliteTable(
  "metrics",
  {
    promptId: integer().notNull(),
    steps: integer().notNull(),
    lsnr: real().notNull(),
    dsim: real().notNull(),
    iclip: real().notNull(),
    seeds: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.promptId, t.steps] })],
);

/** Run settings (model id, scheduler config, size, guidance...) as JSON values by key. */
export const runMeta = sqliteTable("run_meta", {
  key: text().primaryKey(),
  value: text().notNull(),
});
