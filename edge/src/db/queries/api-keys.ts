/** Consumer API keys (stored by digest) and revocation. */
import { asc, eq } from "drizzle-orm";
import type { EdgeDb } from "../client";
import { apiKeys } from "../schema";

export type ApiKeyRow = typeof apiKeys.$inferSelect;

export async function insertKey(db: EdgeDb, row: typeof apiKeys.$inferInsert) {
  await db.insert(apiKeys).values(row);
}

export function listKeys(db: EdgeDb) {
  return db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt)).all();
}

export function keyByDigest(db: EdgeDb, digest: string) {
  return db.select().from(apiKeys).where(eq(apiKeys.keyHash, digest)).get();
}

/** Marks a key revoked (the first revocation's time is kept); undefined for an unknown id. */
export async function revokeKey(db: EdgeDb, id: string, now: number) {
  const row = await db.select().from(apiKeys).where(eq(apiKeys.id, id)).get();
  if (row === undefined || row.revokedAt !== null) return row;
  const [revoked] = await db
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(eq(apiKeys.id, id))
    .returning();
  return revoked;
}
