/** Predictor versions and the activation log (active = newest activation not rolled back). */
import { and, desc, eq, isNull } from "drizzle-orm";
import type { EdgeDb } from "../client";
import { activations, predictorVersions } from "../schema";

export function getVersion(db: EdgeDb, version: string) {
  return db.select().from(predictorVersions).where(eq(predictorVersions.version, version)).get();
}

export async function insertVersion(
  db: EdgeDb,
  row: { version: string; manifest: string; totalBytes: number; now: number },
) {
  await db.insert(predictorVersions).values({
    version: row.version,
    manifest: row.manifest,
    totalBytes: row.totalBytes,
    createdAt: row.now,
  });
}

export function listVersions(db: EdgeDb) {
  return db.select().from(predictorVersions).orderBy(desc(predictorVersions.createdAt)).all();
}

/** The live activation log, newest first. */
function liveActivations(db: EdgeDb) {
  return db
    .select()
    .from(activations)
    .where(isNull(activations.rolledBackAt))
    .orderBy(desc(activations.id))
    .all();
}

export async function activeVersion(db: EdgeDb): Promise<string | undefined> {
  const row = await db
    .select({ version: activations.version })
    .from(activations)
    .where(isNull(activations.rolledBackAt))
    .orderBy(desc(activations.id))
    .limit(1)
    .get();
  return row?.version;
}

export async function activate(db: EdgeDb, version: string, now: number) {
  await db.insert(activations).values({ version, activatedAt: now });
}

/**
 * Rolls back the current activation; returns the version active afterwards, or undefined
 * when there is no earlier activation to return to (nothing is changed then). `accept` sees the
 * version it would return to first; when it throws, nothing is changed either.
 */
export async function rollback(
  db: EdgeDb,
  now: number,
  accept: (version: string) => Promise<void> = async () => {},
): Promise<string | undefined> {
  const live = await liveActivations(db);
  const current = live[0];
  const previous = live.find((a) => a.version !== current?.version);
  if (current === undefined || previous === undefined) return undefined;
  await accept(previous.version);
  // Roll back every newer activation of the current version so that `previous` is on top.
  for (const a of live) {
    if (a.id <= previous.id) break;
    await db
      .update(activations)
      .set({ rolledBackAt: now })
      .where(and(eq(activations.id, a.id), isNull(activations.rolledBackAt)));
  }
  return previous.version;
}
