/** GPU worker credentials (stored by digest), their lookup and revocation. */
import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { EdgeDb } from "../client";
import { workerCredentials } from "../schema";

export type WorkerCredentialRow = typeof workerCredentials.$inferSelect;

export async function insertWorkerCredential(
  db: EdgeDb,
  row: typeof workerCredentials.$inferInsert,
) {
  await db.insert(workerCredentials).values(row);
}

export function listWorkerCredentials(db: EdgeDb) {
  return db.select().from(workerCredentials).orderBy(asc(workerCredentials.createdAt)).all();
}

/** The unrevoked credential with this digest, if any. */
export function liveCredentialByDigest(db: EdgeDb, digest: string) {
  return db
    .select()
    .from(workerCredentials)
    .where(and(eq(workerCredentials.secretHash, digest), isNull(workerCredentials.revokedAt)))
    .get();
}

/** Whether any credential is live: then the shared WORKER_TOKEN no longer registers workers. */
export async function anyLiveCredential(db: EdgeDb): Promise<boolean> {
  const row = await db
    .select({ id: workerCredentials.id })
    .from(workerCredentials)
    .where(isNull(workerCredentials.revokedAt))
    .limit(1)
    .get();
  return row !== undefined;
}

/** Marks a credential revoked (the first revocation's time is kept); undefined for an unknown id. */
export async function revokeWorkerCredential(db: EdgeDb, id: string, now: number) {
  const [row] = await db
    .update(workerCredentials)
    .set({ revokedAt: sql`coalesce(${workerCredentials.revokedAt}, ${now})` })
    .where(eq(workerCredentials.id, id))
    .returning();
  return row;
}
