/**
 * Opens (creating if needed) a run's dataset database and applies the drizzle-kit migrations.
 * WAL journal + synchronous=NORMAL: a kill -9 can lose at most the last uncommitted
 * transaction, never corrupt committed rows (the builder's resumability relies on this).
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { type BetterSQLite3Database, drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import * as schema from "./schema";

export type DatasetDb = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), "migrations");

/** `path` may be ":memory:" for tests. */
export function openDatasetDb(path: string): DatasetDb {
  const client = new Database(path);
  client.pragma("journal_mode = WAL");
  client.pragma("synchronous = NORMAL");
  client.pragma("busy_timeout = 5000");
  const db = drizzle({ client, schema, casing: "snake_case" });
  migrate(db, { migrationsFolder: MIGRATIONS_DIR });
  return db;
}
