/** usage_daily: counters per key and UTC day, added to by upsert; job_owners settlement. */
import { and, asc, eq, gte, inArray, isNull, lte, type SQL, sql } from "drizzle-orm";
import type { EdgeDb } from "../client";
import { jobOwners, usageDaily } from "../schema";

export type UsageRow = typeof usageDaily.$inferSelect;
/** Every counter column of usage_daily. */
export type UsageCounterColumn = Exclude<keyof UsageRow, "keyId" | "day">;
export type UsageIncrement = Partial<Record<UsageCounterColumn, number>>;

/** Adds `increment` to the key's row for `day`, creating the row at zero first. */
export async function addUsage(db: EdgeDb, keyId: string, day: string, increment: UsageIncrement) {
  const set: Partial<Record<UsageCounterColumn, SQL>> = {};
  for (const [column, by] of Object.entries(increment) as [UsageCounterColumn, number][]) {
    set[column] = sql`${usageDaily[column]} + ${by}`;
  }
  await db
    .insert(usageDaily)
    .values({ keyId, day, ...increment })
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
