/**
 * The D1 prompt-embedding cache (edge/src/db/queries/embeddings.ts): p̄ goes in as base64 of its
 * float32 bytes (migration 0006) and comes back bit for bit; a row that is not a whole vector of
 * its recorded width reads as absent, so the prompt is embedded again rather than mis-scored.
 * The isolate's tier in front of it (edge/src/predictor/embed-prompt.ts) stays inside its byte
 * bound however many distinct prompts D1 serves, evicting the least recently used.
 */
import { env } from "cloudflare:test";
import { d1Database } from "@budgetfusion/edge/db/client";
import { getCachedEmbedding, putCachedEmbedding } from "@budgetfusion/edge/db/queries/embeddings";
import {
  embeddingCacheStats,
  embeddingKey,
  storedEmbedding,
} from "@budgetfusion/edge/predictor/embed-prompt";
import { describe, expect, it } from "vitest";

describe("embedding cache in D1", () => {
  const db = d1Database(env.DB);

  it("returns the stored vector bit for bit, 1024 wide", async () => {
    const v = new Float32Array(1024);
    for (let i = 0; i < v.length; i++) v[i] = Math.sin(i * 12.9898) * 0.05;
    v.set([0, -0, 1.401298464324817e-45, 3.4028234663852886e38, -1e-7], 0);
    const key = `exact-${crypto.randomUUID()}`;
    await putCachedEmbedding(db, key, "stand-in-clip", v);
    const back = await getCachedEmbedding(db, key);
    expect(back).toBeInstanceOf(Float32Array);
    expect(new Uint8Array((back as Float32Array).buffer)).toEqual(new Uint8Array(v.buffer));
    const row = await env.DB.prepare("SELECT vector FROM embedding_cache WHERE key = ?")
      .bind(key)
      .first<{ vector: string }>();
    // base64 of 4 KiB, not ~20 KB of JSON digits.
    expect(row?.vector.length).toBe(Math.ceil(4096 / 3) * 4);
  });

  it("reads a row of the wrong width or encoding, or an empty one, as absent", async () => {
    const put = (key: string, width: number, vector: string) =>
      env.DB.prepare(
        "INSERT INTO embedding_cache (key, model_id, width, vector, created_at) VALUES (?, 'm', ?, ?, 0)",
      )
        .bind(key, width, vector)
        .run();
    await put("short", 4, btoa("\u0000".repeat(12)));
    await put("json", 2, "[0.5,0.25]");
    await put("ragged", 1, btoa("abc"));
    await put("empty", 0, "");
    expect(await getCachedEmbedding(db, "short")).toBeUndefined();
    expect(await getCachedEmbedding(db, "json")).toBeUndefined();
    expect(await getCachedEmbedding(db, "ragged")).toBeUndefined();
    expect(await getCachedEmbedding(db, "empty")).toBeUndefined();
    expect(await getCachedEmbedding(db, "no such key")).toBeUndefined();
  });

  it("keeps this isolate's p̄ tier inside its byte bound when every read is a D1 hit", async () => {
    const predictor = { manifest: { embedding: { model_id: `bound-${crypto.randomUUID()}` } } };
    const { max_bytes } = embeddingCacheStats();
    const width = 1024;
    const held = max_bytes / (4 * width);
    const prompts = Array.from({ length: held + 76 }, (_, i) => `prompt ${i}`);
    const rows = await Promise.all(
      prompts.map(async (p, i) => {
        const key = await embeddingKey(predictor.manifest.embedding.model_id, p);
        return { key, vector: new Float32Array(width).fill(i) };
      }),
    );
    for (let i = 0; i < rows.length; i += 100)
      await Promise.all(
        rows.slice(i, i + 100).map((r) => putCachedEmbedding(db, r.key, "m", r.vector)),
      );
    for (const [i, p] of prompts.entries())
      expect((await storedEmbedding(db, predictor, p))?.[0]).toBe(i);
    const stats = embeddingCacheStats();
    expect(stats.entries).toBe(held);
    expect(stats.bytes).toBe(max_bytes);
    // With D1 emptied, the newest prompts still answer from the isolate; the oldest were evicted.
    await env.DB.prepare("DELETE FROM embedding_cache").run();
    expect((await storedEmbedding(db, predictor, prompts.at(-1) as string))?.[0]).toBe(
      prompts.length - 1,
    );
    expect(await storedEmbedding(db, predictor, prompts[0])).toBeUndefined();
  });
});
