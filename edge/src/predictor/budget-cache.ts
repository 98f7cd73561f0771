/**
 * The budget cache: a prompt's predicted curves for one bundle version, keyed by
 * (version, sha256(prompt)). Curves rather than responses, because t* also depends on the
 * request's bounds and quality target, which are cheap to apply again.
 *
 * Tier 1 is this isolate's memory (an LRU bounded in bytes so the 64 MB isolate budget holds:
 * 3 MiB, 2,048 prompts of 129 x 3 float32); tier 2 is the Cache API of the data
 * centre (shared by its isolates, survives isolate restarts). KV would be global but is
 * eventually consistent and needs another binding; a budget is cheap enough to recompute that a
 * per-data-centre cache is the better trade. Counters feed Server-Timing and GET /metrics.
 *
 * Tier 2 is only worth its lookup (and its write on every miss) when recomputing costs more
 * than the lookup: a miss pays both (usesCacheApi; the caller passes `shared`).
 */
import { METRIC_NAMES } from "@budgetfusion/shared/predictor/bundle-manifest";
import { LRUCache } from "lru-cache";
import type { BudgetCacheApiMode } from "../config";
import { sha256Hex } from "../runtime/sha256";
import type { LoadedPredictor } from "./load-predictor";
import { type PhaseTimer, timed, untimed } from "./phase-timer";
import type { MetricCurves } from "./predict-curves";

const ISOLATE_BYTES = 2_048 * 129 * 3 * 4;
/** The Cache API wants a URL; this host is never fetched. */
const CACHE_ORIGIN = "https://budget-cache.budgetfusion.internal";
const CACHE_TTL_S = 7 * 24 * 3600;

export type CacheTier = "isolate" | "cache-api" | "miss";

const isolate = new LRUCache<string, MetricCurves>({
  maxSize: ISOLATE_BYTES,
  sizeCalculation: (c) => METRIC_NAMES.reduce((n, m) => n + c[m].byteLength, 0),
});
const counts: Record<CacheTier, number> = { isolate: 0, "cache-api": 0, miss: 0 };

export async function budgetCacheKey(version: string, prompt: string): Promise<string> {
  return `${encodeURIComponent(version)}/${await sha256Hex(prompt)}`;
}

/**
 * Whether the budget cache uses its Cache API tier for this predictor. "auto": where a miss costs
 * more than a Cache API lookup, i.e. the text encoder runs here or the network is a BiLSTM. A
 * distilled student fed by a stored p̄ (the paper-size path) recomputes in well under a
 * millisecond, while each miss would pay a Cache API lookup and a write (1.6-2.0 ms at p50 in
 * workerd, docs/notes/paper-size-edge.md); its shared tier is the D1 embedding cache, which also
 * serves later bundle versions. "always" / "never" let a deployment whose Cache API and D1
 * latencies differ from those decide.
 */
export function usesCacheApi(
  mode: BudgetCacheApiMode,
  predictor: Pick<LoadedPredictor, "textEmbedder" | "form">,
): boolean {
  if (mode !== "auto") return mode === "always";
  return predictor.textEmbedder !== undefined || predictor.form !== "distilled";
}

/** Where tier 2 keeps `key`'s curves. */
export function budgetCacheUrl(key: string): string {
  return `${CACHE_ORIGIN}/${key}`;
}

function toBytes(curves: MetricCurves): Uint8Array {
  const dense = curves.lsnr.length;
  const out = new Float32Array(dense * 3);
  METRIC_NAMES.forEach((m, k) => {
    out.set(curves[m], k * dense);
  });
  return new Uint8Array(out.buffer);
}

function fromBytes(bytes: ArrayBuffer): MetricCurves | undefined {
  if (bytes.byteLength % 12 !== 0 || bytes.byteLength === 0) return undefined;
  const all = new Float32Array(bytes);
  const dense = all.length / 3;
  const curves = {} as MetricCurves;
  METRIC_NAMES.forEach((m, k) => {
    curves[m] = all.slice(k * dense, (k + 1) * dense);
  });
  return curves;
}

/** The Cache API store, absent where the runtime has none. */
function store(): Cache | undefined {
  return typeof caches === "undefined" ? undefined : caches.default;
}

/** How a budget-cache miss gets its curves. */
export interface CurveSource<T> {
  /**
   * Started on an isolate miss together with the Cache API lookup, so that its I/O (e.g. the D1
   * read of p̄) overlaps it; dropped on a Cache API hit, so it must only read.
   */
  prefetch: () => Promise<T>;
  compute: (prefetched: Promise<T>) => Promise<MetricCurves>;
}

export interface CacheOptions {
  /** Also use tier 2, the Cache API (false: this isolate's memory only). */
  shared: boolean;
  /** Keeps the Cache API write off the response path, e.g. ctx.waitUntil. */
  defer: (p: Promise<unknown>) => void;
  time?: PhaseTimer;
}

/** Curves for `key` from the fastest tier that has them, else from `source` (then stored). */
export async function cachedCurves<T>(
  key: string,
  source: CurveSource<T>,
  { shared, defer, time = untimed }: CacheOptions,
): Promise<{ curves: MetricCurves; tier: CacheTier }> {
  const hit = isolate.get(key);
  if (hit !== undefined) {
    counts.isolate++;
    return { curves: hit, tier: "isolate" };
  }
  const prefetched = source.prefetch();
  // A Cache API hit never awaits it; compute sees its failure.
  prefetched.catch(() => undefined);
  const cache = shared ? store() : undefined;
  const url = budgetCacheUrl(key);
  const stored =
    cache === undefined
      ? undefined
      : await timed(time, "cache-lookup", async () => {
          const res = await cache.match(url).catch(() => undefined);
          return res === undefined ? undefined : fromBytes(await res.arrayBuffer());
        });
  if (stored !== undefined) {
    counts["cache-api"]++;
    isolate.set(key, stored);
    return { curves: stored, tier: "cache-api" };
  }
  const curves = await source.compute(prefetched);
  counts.miss++;
  isolate.set(key, curves);
  if (cache !== undefined) {
    const body = new Response(toBytes(curves), {
      headers: { "cache-control": `max-age=${CACHE_TTL_S}` },
    });
    defer(cache.put(url, body).catch(() => undefined));
  }
  return { curves, tier: "miss" };
}

export interface BudgetCacheStats {
  isolate_hits: number;
  cache_api_hits: number;
  misses: number;
  /** (isolate + Cache API hits) / lookups in this isolate since it started; 0 before any. */
  hit_rate: number;
  isolate_entries: number;
  isolate_bytes: number;
}

export function budgetCacheStats(): BudgetCacheStats {
  const hits = counts.isolate + counts["cache-api"];
  const total = hits + counts.miss;
  return {
    isolate_hits: counts.isolate,
    cache_api_hits: counts["cache-api"],
    misses: counts.miss,
    hit_rate: total === 0 ? 0 : hits / total,
    isolate_entries: isolate.size,
    isolate_bytes: isolate.calculatedSize,
  };
}
