/**
 * The drizzle database type the query modules accept: the async SQLite base with our schema, so
 * D1 in workerd and any other async SQLite driver fit (STYLE §4).
 */
import { drizzle } from "drizzle-orm/d1";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import * as schema from "./schema";

export type EdgeDb = BaseSQLiteDatabase<"async", unknown, typeof schema>;

/** `onQuery` is called for every statement sent (the dispatcher counts its D1 queries). */
export function d1Database(d1: D1Database, onQuery?: () => void): EdgeDb {
  const logger = onQuery === undefined ? undefined : { logQuery: () => onQuery() };
  return drizzle(d1, { schema, casing: "snake_case", logger });
}
