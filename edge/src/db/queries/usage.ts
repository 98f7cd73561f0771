/** usage_daily: counters per key and UTC day, added to by upsert; job_owners settlement. */
import { and, asc, eq, gte, inArray, isNull, lte, type SQL, sql } from "drizzle-orm";
import { toSnakeCase } from "drizzle-orm/casing";
import type { EdgeDb } from "../client";
import { jobOwners, usageDaily } from "../schema";

export type UsageRow = typeof usageDaily.$inferSelect;
/** Every counter column of usage_daily. */
export type UsageCounterColumn = Exclude<keyof UsageRow, "keyId" | "day">;
export type UsageIncrement = Partial<Record<UsageCounterColumn, number>>;

export interface UsageAddition {
  keyId: string;
  day: string;
  increment: UsageIncrement;
}

/** Bound parameters D1 allows in one statement. */
const D1_MAX_PARAMETERS = 100;

/** How many rows of `columns` counters one addUsage statement takes (D1's parameter limit). */
export function usageRowsPerStatement(columns: number): number {
  return Math.floor(D1_MAX_PARAMETERS / (2 + columns));
}

/**
 * Adds each row's increment to its key's row for its day, creating rows at zero first: one
 * statement (so all or nothing) for rows of distinct (key, day), at most usageRowsPerStatement.
 */
export async function addUsage(db: EdgeDb, rows: readonly UsageAddition[]) {
  if (rows.length === 0) return;
  const columns = [
    ...new Set(rows.flatMap((r) => Object.keys(r.increment))),
  ] as UsageCounterColumn[];
  const set: Partial<Record<UsageCounterColumn, SQL>> = {};
  for (const column of columns) {
    set[column] = sql`${usageDaily[column]} + excluded.${sql.identifier(toSnakeCase(column))}`;
  }
  await db
    .insert(usageDaily)
    .values(
      rows.map((r) => ({
        keyId: r.keyId,
        day: r.day,
        ...Object.fromEntries(columns.map((c) => [c, r.increment[c] ?? 0])),
      })),
    )
    .onConflictDoUpdate({ target: [usageDaily.keyId, usageDaily.day], set });
}

/** Rows for the keys (all keys when undefined) between two days, inclusive, oldest first. */
export function usageRows(db: EdgeDb, from: string, to: string, keyIds?: string[]) {
  const range = and(gte(usageDaily.day, from), lte(usageDaily.day, to));
  return db
    .select()
    .from(usageDaily)
    .where(keyIds === undefined ? range : and(range, inArray(usageDaily.keyId, keyIds)))
    .orderBy(asc(usageDaily.day), asc(usageDaily.keyId))
    .all();
}

/**
 * Settles a job's owner row once: the winner gets the owner (key and baseline) back and
 * records the outcome; a second settlement of the same job gets undefined.
 */
export async function settleOwner(db: EdgeDb, jobId: string, now: number) {
  const [owner] = await db
    .update(jobOwners)
    .set({ settledAt: now })
    .where(and(eq(jobOwners.jobId, jobId), isNull(jobOwners.settledAt)))
    .returning();
  return owner;
}

export function jobOwner(db: EdgeDb, jobId: string) {
  return db.select().from(jobOwners).where(eq(jobOwners.jobId, jobId)).get();
}
