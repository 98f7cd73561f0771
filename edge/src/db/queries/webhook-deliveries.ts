/** The job webhooks still to deliver (schema.ts webhookDeliveries). */
import { and, asc, eq, inArray, isNotNull, isNull, lt, lte, min } from "drizzle-orm";
import type { EdgeDb } from "../client";
import { jobs, webhookDeliveries } from "../schema";

export type DeliveryRow = typeof webhookDeliveries.$inferSelect;

/** Stores an event (claimed until `row.nextAttemptAt`); false when it was already stored. */
export async function insertDelivery(
  db: EdgeDb,
  row: typeof webhookDeliveries.$inferInsert,
): Promise<boolean> {
  const rows = await db
    .insert(webhookDeliveries)
    .values(row)
    .onConflictDoNothing()
    .returning({ id: webhookDeliveries.id });
  return rows.length > 0;
}

/** The deliveries of one dispatcher shard's jobs (each shard retries its own). */
const ofShard = (db: EdgeDb, shard: string) =>
  inArray(
    webhookDeliveries.jobId,
    db.select({ id: jobs.id }).from(jobs).where(eq(jobs.dispatchShard, shard)),
  );

export function dueDeliveries(db: EdgeDb, shard: string, now: number, limit: number) {
  return db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        isNotNull(webhookDeliveries.nextAttemptAt),
        lte(webhookDeliveries.nextAttemptAt, now),
        ofShard(db, shard),
      ),
    )
    .orderBy(asc(webhookDeliveries.nextAttemptAt))
    .limit(limit)
    .all();
}

/** When the shard's earliest pending delivery is due, or undefined when none is pending. */
export async function nextDeliveryAt(db: EdgeDb, shard: string): Promise<number | undefined> {
  const row = await db
    .select({ at: min(webhookDeliveries.nextAttemptAt) })
    .from(webhookDeliveries)
    .where(ofShard(db, shard))
    .get();
  return row?.at ?? undefined;
}

/**
 * Takes a due delivery for one attempt: moves its due time to `leaseUntil`, so no other pass
 * attempts it meanwhile and, should this one never record its outcome (the object died), it is
 * due again then. False when it was not due at `dueAt` any more.
 */
export async function claimDelivery(
  db: EdgeDb,
  id: string,
  dueAt: number,
  leaseUntil: number,
): Promise<boolean> {
  const rows = await db
    .update(webhookDeliveries)
    .set({ nextAttemptAt: leaseUntil })
    .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.nextAttemptAt, dueAt)))
    .returning({ id: webhookDeliveries.id });
  return rows.length > 0;
}

/** An attempt's outcome: the next one due at `nextAttemptAt`, or none (delivered or given up). */
export async function recordAttempt(
  db: EdgeDb,
  id: string,
  outcome: Pick<
    DeliveryRow,
    "attempts" | "nextAttemptAt" | "deliveredAt" | "lastStatus" | "lastError"
  >,
) {
  await db.update(webhookDeliveries).set(outcome).where(eq(webhookDeliveries.id, id));
}

/** Drops deliveries that ended (delivered or given up) and were created before `before`. */
export async function pruneDeliveries(db: EdgeDb, before: number): Promise<number> {
  const rows = await db
    .delete(webhookDeliveries)
    .where(and(isNull(webhookDeliveries.nextAttemptAt), lt(webhookDeliveries.createdAt, before)))
    .returning({ id: webhookDeliveries.id });
  return rows.length;
}
