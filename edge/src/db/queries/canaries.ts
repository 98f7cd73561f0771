/** Canary rollouts, their traffic counters and the recorded pairs of budgets. */
import { and, desc, eq, sql } from "drizzle-orm";
import type { EdgeDb } from "../client";
import { type CANARY_STATUSES, canaries, canarySamples } from "../schema";

export type CanaryRow = typeof canaries.$inferSelect;
export type CanaryEnd = Exclude<(typeof CANARY_STATUSES)[number], "running">;

export function runningCanary(db: EdgeDb) {
  return db.select().from(canaries).where(eq(canaries.status, "running")).get();
}

/** The newest canary of a version, running or ended. */
export function latestCanary(db: EdgeDb, version: string) {
  return db
    .select()
    .from(canaries)
    .where(eq(canaries.version, version))
    .orderBy(desc(canaries.startedAt), desc(canaries.id))
    .limit(1)
    .get();
}

export async function startCanary(
  db: EdgeDb,
  row: { version: string; stableVersion: string; share: number; now: number },
): Promise<CanaryRow> {
  const [started] = await db
    .insert(canaries)
    .values({
      version: row.version,
      stableVersion: row.stableVersion,
      share: row.share,
      status: "running",
      startedAt: row.now,
    })
    .returning();
  return started;
}

export async function setShare(db: EdgeDb, id: number, share: number): Promise<CanaryRow> {
  const [row] = await db.update(canaries).set({ share }).where(eq(canaries.id, id)).returning();
  return row;
}

/** Ends a running canary; undefined when it was not running (any more). */
export async function endCanary(db: EdgeDb, id: number, status: CanaryEnd, now: number) {
  const [row] = await db
    .update(canaries)
    .set({ status, endedAt: now })
    .where(and(eq(canaries.id, id), eq(canaries.status, "running")))
    .returning();
  return row;
}

export async function countTraffic(db: EdgeDb, id: number, servedByCandidate: boolean) {
  await db
    .update(canaries)
    .set({
      budgets: sql`${canaries.budgets} + 1`,
      canaryBudgets: sql`${canaries.canaryBudgets} + ${servedByCandidate ? 1 : 0}`,
    })
    .where(eq(canaries.id, id));
}

export async function insertSample(db: EdgeDb, row: typeof canarySamples.$inferInsert) {
  await db.insert(canarySamples).values(row);
}

/** How often each t* difference (candidate - stable) occurred, smallest difference first. */
export function differenceCounts(db: EdgeDb, canaryId: number) {
  const difference = sql<number>`${canarySamples.canarySteps} - ${canarySamples.stableSteps}`;
  return db
    .select({ difference, count: sql<number>`count(*)` })
    .from(canarySamples)
    .where(eq(canarySamples.canaryId, canaryId))
    .groupBy(difference)
    .orderBy(difference)
    .all();
}
