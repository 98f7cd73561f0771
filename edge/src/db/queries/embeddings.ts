/** Prompt-embedding cache rows (see predictor/embed-prompt.ts for why D1). */
import { eq } from "drizzle-orm";
import type { EdgeDb } from "../client";
import { embeddingCache } from "../schema";

export async function getCachedEmbedding(db: EdgeDb, key: string) {
  const row = await db.select().from(embeddingCache).where(eq(embeddingCache.key, key)).get();
  if (row === undefined) return undefined;
  return Float32Array.from(JSON.parse(row.vector) as number[]);
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
      vector: JSON.stringify(Array.from(v)),
      createdAt: Date.now(),
    })
    .onConflictDoNothing();
}
