/**
 * The prompt embedding p̄ (SPEC §4): CLIP text embedding, L2-normalised. Either computed at the
 * edge with the bundle's text model (the shared ClipTextEmbedder, the same code the GPU worker and
 * training embed with), or, when the encoder is too large for a Worker
 * (manifest.embedding.runs_at = "gpu-worker"), fetched from a GPU worker's POST /v1/embed and
 * cached in D1.
 *
 * Cache choice: D1, keyed by sha256(model_id + "\n" + prompt). D1 is already bound, strongly
 * consistent and survives isolates and deploys; KV is eventually consistent and would need
 * another binding; the Cache API is per-data-centre and only caches Responses. A small
 * in-isolate LRU in front of D1 saves the round trip for repeated prompts; it is bounded in bytes,
 * on every path that fills it, so an isolate serving any number of distinct prompts stays inside
 * the 64 MB budget.
 */
import { env } from "cloudflare:workers";
import { l2NormalizeRows } from "@budgetfusion/shared/embedding/clip-text-embedder";
import { UpstreamError } from "@budgetfusion/shared/errors";
import { embedResponseSchema } from "@budgetfusion/shared/schemas/worker-api";
import { LRUCache } from "lru-cache";
import type { EdgeDb } from "../db/client";
import { getCachedEmbedding, putCachedEmbedding } from "../db/queries/embeddings";
import { pickEmbedWorker } from "../db/queries/workers";
import { sha256Hex } from "../runtime/sha256";
import type { LoadedPredictor } from "./load-predictor";

/** 1,024 paper-size p̄ (1,024 float32 each). */
const ISOLATE_CACHE_BYTES = 4 * 1024 * 1024;
const isolateCache = new LRUCache<string, Float32Array>({
  maxSize: ISOLATE_CACHE_BYTES,
  sizeCalculation: (v) => v.byteLength,
});

export interface EmbeddingCacheStats {
  entries: number;
  bytes: number;
  max_bytes: number;
}

/** What this isolate's p̄ tier holds (GET /metrics). */
export function embeddingCacheStats(): EmbeddingCacheStats {
  return {
    entries: isolateCache.size,
    bytes: isolateCache.calculatedSize,
    max_bytes: ISOLATE_CACHE_BYTES,
  };
}

/** Where a prompt's p̄ is kept for a GPU-worker-embedded bundle (sha256 of model + prompt). */
export function embeddingKey(modelId: string, prompt: string): Promise<string> {
  return sha256Hex(`${modelId}\n${prompt}`);
}

/**
 * p̄ as the caches hold it (this isolate's map, then D1), or undefined when the prompt must be
 * embedded; always undefined for a bundle that embeds at the edge. Reads only, so the budget
 * path starts it alongside the Cache API lookup (budget-cache.ts) and drops it on a hit.
 */
export async function storedEmbedding(
  db: EdgeDb,
  predictor: Pick<LoadedPredictor, "textEmbedder"> & {
    manifest: { embedding: { model_id: string } };
  },
  prompt: string,
): Promise<Float32Array | undefined> {
  if (predictor.textEmbedder !== undefined) return undefined;
  const key = await embeddingKey(predictor.manifest.embedding.model_id, prompt);
  // get() already marks an isolate hit as recently used; only a D1 hit joins the tier.
  const held = isolateCache.get(key);
  if (held !== undefined) return Float32Array.from(held);
  const stored = await getCachedEmbedding(db, key);
  if (stored === undefined) return undefined;
  isolateCache.set(key, stored);
  return Float32Array.from(stored);
}

async function embedViaWorker(
  db: EdgeDb,
  modelId: string,
  width: number,
  prompt: string,
  defer: (work: Promise<unknown>) => void,
  fetcher: typeof fetch = fetch,
): Promise<Float32Array> {
  const worker = await pickEmbedWorker(db, Date.now());
  if (worker === undefined) throw new UpstreamError("no healthy GPU worker to embed the prompt");
  let res: Response;
  try {
    res = await fetcher(new URL("/v1/embed", worker.url), {
      method: "POST",
      headers: {
        "content-type": "application/json",
        // Workers require the token on every route but /healthz (gpu-worker/src/auth.ts).
        authorization: `Bearer ${env.WORKER_TOKEN}`,
      },
      body: JSON.stringify({ texts: [prompt] }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (cause) {
    throw new UpstreamError(`embedding request to ${worker.id} failed`, { cause });
  }
  if (!res.ok) throw new UpstreamError(`embedding worker ${worker.id} answered ${res.status}`);
  const parsed = embedResponseSchema.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new UpstreamError(`embedding worker ${worker.id} sent a bad body`);
  const { model_id, embeddings } = parsed.data;
  if (model_id !== modelId || embeddings[0]?.length !== width) {
    throw new UpstreamError(
      `embedding worker ${worker.id} uses ${model_id} (width ${embeddings[0]?.length}), bundle needs ${modelId} (width ${width})`,
    );
  }
  const vector = l2NormalizeRows(Float32Array.from(embeddings[0]), width);
  const key = await embeddingKey(modelId, prompt);
  isolateCache.set(key, vector);
  // The D1 copy serves other isolates and later bundle versions, not this response.
  defer(putCachedEmbedding(db, key, modelId, vector));
  return Float32Array.from(vector);
}

/**
 * p̄ for the bundle, wherever its manifest says the encoder runs.
 * @param stored storedEmbedding's lookup for this prompt, already started
 * @param defer runs work after the response (the D1 write of a new embedding)
 */
export async function embedPrompt(
  db: EdgeDb,
  predictor: LoadedPredictor,
  prompt: string,
  stored: Promise<Float32Array | undefined>,
  defer: (work: Promise<unknown>) => void,
): Promise<Float32Array> {
  const { embedding } = predictor.manifest;
  // One prompt is one batch padded to its own length: CLIP's causal attention makes positions
  // after <|endoftext|> irrelevant, so this equals max_length padding at a fraction of the cost.
  if (predictor.textEmbedder !== undefined) return predictor.textEmbedder.embed([prompt]);
  return (await stored) ?? embedViaWorker(db, embedding.model_id, embedding.width, prompt, defer);
}
