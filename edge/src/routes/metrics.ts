/**
 * GET /metrics: this isolate's counters in the Prometheus text format (the format scrapers
 * read): the budget and embedding caches (budget-cache.ts, embed-prompt.ts) and the isolate's
 * memory as far as a Worker can see it from inside, ORT's WebAssembly memory (its largest part:
 * weights and arenas). The V8 heap is not visible from inside a Worker; `npm run bench:edge` adds
 * it through the inspector.
 * Hand-written: a few lines of a text format, no library needed (prom-client needs Node).
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { EdgeApp } from "../app-env";
import { budgetCacheStats } from "../predictor/budget-cache";
import { embeddingCacheStats } from "../predictor/embed-prompt";
import { ortWasmMemoryBytes } from "../runtime/ort-web";

const route = createRoute({
  method: "get",
  path: "/metrics",
  summary: "Counters of this isolate (Prometheus text format)",
  responses: {
    200: { description: "Metrics", content: { "text/plain": { schema: z.string() } } },
  },
});

function gauge(name: string, help: string, value: number, type = "gauge"): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`;
}

export function registerMetricsRoute(app: EdgeApp) {
  app.openapi(route, (c) => {
    const s = budgetCacheStats();
    const e = embeddingCacheStats();
    const text = [
      `# HELP budgetfusion_budget_cache_lookups_total Budget cache lookups by result.\n# TYPE budgetfusion_budget_cache_lookups_total counter\n` +
        `budgetfusion_budget_cache_lookups_total{result="isolate"} ${s.isolate_hits}\n` +
        `budgetfusion_budget_cache_lookups_total{result="cache-api"} ${s.cache_api_hits}\n` +
        `budgetfusion_budget_cache_lookups_total{result="miss"} ${s.misses}\n`,
      gauge("budgetfusion_budget_cache_hit_rate", "Hits / lookups in this isolate.", s.hit_rate),
      gauge(
        "budgetfusion_budget_cache_entries",
        "Curves held in this isolate's memory.",
        s.isolate_entries,
      ),
      gauge(
        "budgetfusion_budget_cache_bytes",
        "Bytes of the curves held in this isolate's memory.",
        s.isolate_bytes,
      ),
      gauge(
        "budgetfusion_embedding_cache_entries",
        "Prompt embeddings held in this isolate's memory.",
        e.entries,
      ),
      gauge(
        "budgetfusion_embedding_cache_bytes",
        `Bytes of the prompt embeddings held in this isolate's memory (at most ${e.max_bytes}).`,
        e.bytes,
      ),
      gauge(
        "budgetfusion_ort_wasm_memory_bytes",
        "ONNX Runtime WebAssembly memory of this isolate.",
        ortWasmMemoryBytes(),
      ),
    ].join("");
    return c.text(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
}
