/** Prompt-embedding cache rows (see predictor/embed-prompt.ts for why D1). */
import { eq } from "drizzle-orm";
import { float32FromBase64, float32ToBase64 } from "../../runtime/base64";
import type { EdgeDb } from "../client";
import { embeddingCache } from "../schema";

/**
 * The stored p̄, or undefined when there is none or the row is not a whole, non-empty vector (then
 * it is re-embedded).
 */
export async function getCachedEmbedding(db: EdgeDb, key: string) {
  const row = await db
    .select({ width: embeddingCache.width, vector: embeddingCache.vector })
    .from(embeddingCache)
    .where(eq(embeddingCache.key, key))
    .get();
  if (row === undefined) return undefined;
  const vector = float32FromBase64(row.vector);
  return vector !== undefined && vector.length > 0 && vector.length === row.width
    ? vector
    : undefined;
}

export async function putCachedEmbedding(
  db: EdgeDb,
  key: string,
  modelId: string,
  v: Float32Array,
) {
  await db
    .insert(embeddingCache)
    .values({
      key,
      modelId,
      width: v.length,
      vector: float32ToBase64(v),
      createdAt: Date.now(),
    })
    .onConflictDoNothing();
}
