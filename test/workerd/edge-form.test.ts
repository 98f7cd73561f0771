/**
 * Bundles with an edge form (bundle-manifest.ts edge_form) in workerd: the exact form reproduces
 * the teacher's curves (onnxruntime-node over the teacher's own files) within 1e-5, the
 * distilled one its own ONNX reference; the response names the form that answered; the upload
 * check refuses a bundle whose recorded agreement, or whose probe prompts re-scored at the edge,
 * miss EDGE_FORM_THRESHOLDS; identical prompts answer from the budget cache, which
 * Server-Timing and /metrics report.
 */
import { SELF } from "cloudflare:test";
import { budgetCacheKey, budgetCacheUrl } from "@budgetfusion/edge/predictor/budget-cache";
import { stepBudget } from "@budgetfusion/shared/plateau/step-budget";
import type { BudgetResponse } from "@budgetfusion/shared/schemas/edge-api";
import { beforeAll, describe, expect, it } from "vitest";
import { PROBE_PROMPTS } from "./fixture-contract";
import {
  bundleParts,
  clearWorkers,
  type ErrorJson,
  fixtureBundle,
  installActive,
  postJson,
  registerWorker,
  upload,
} from "./helpers";

const METRICS = ["lsnr", "dsim", "iclip"] as const;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function maxAbs(a: number[], b: number[]) {
  expect(a.length).toBe(b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i])));
}

describe.each([
  ["fx-exact24", "exact"],
  ["fx-distilled24", "distilled"],
] as const)("edge form bundle %s", (fixture, form) => {
  const bundle = fixtureBundle(fixture);
  const version = `form-${fixture}`;
  beforeAll(async () => {
    await clearWorkers();
    await registerWorker("embedder-1", "ok-embed.fake");
    await installActive(fixture, version);
  });

  it.each(PROBE_PROMPTS)("curves match the reference within 1e-5: %s", async (prompt) => {
    const res = await postJson("/v1/budget", { prompt, include_curves: true });
    expect(res.status).toBe(200);
    const body = (await res.json()) as BudgetResponse;
    expect(body.predictor_form).toBe(form);
    expect(body.predictor_version).toBe(version);
    for (const m of METRICS) {
      expect(maxAbs(body.curves?.[m] ?? [], bundle.expected[prompt][m])).toBeLessThanOrEqual(1e-5);
    }
    expect(body.steps).toBe(stepBudget(bundle.expected[prompt], bundle.manifest.plateau).steps);
  });
});

describe("edge form upload check", () => {
  it("refuses a bundle whose recorded agreement is below the named threshold", async () => {
    const parts = await bundleParts("fx-distilled24", "low-agreement");
    const manifest = JSON.parse(parts.manifest);
    manifest.edge_form.agreement.t_star_within_3 = 0.5;
    const res = await upload({ ...parts, manifest: JSON.stringify(manifest) });
    expect(res.status).toBe(422);
    const body = (await res.json()) as ErrorJson;
    expect(body.error.field).toBe("edge_form.agreement");
    expect(body.error.message).toContain("EDGE_FORM_THRESHOLDS.distilled.t_star_within_3 = 0.95");
  });

  it("refuses a bundle whose probe prompts disagree with the teacher curves it ships", async () => {
    const parts = await bundleParts("fx-distilled24", "bad-probe");
    const manifest = JSON.parse(parts.manifest);
    const file = manifest.edge_form.probe.file as string;
    const rows = new Float32Array((parts.files.get(file) as Uint8Array).slice().buffer);
    const width = manifest.embedding.width as number;
    const row = width + 129 * 3;
    // Shift every teacher curve by 0.05: far beyond the student's recorded MAE.
    for (let r = 0; r < manifest.edge_form.probe.prompts; r++)
      for (let j = width; j < row; j++) rows[r * row + j] += 0.05;
    const bytes = new Uint8Array(rows.buffer);
    parts.files.set(file, bytes);
    manifest.edge_form.probe.sha256 = await sha256Hex(bytes);
    const res = await upload({ ...parts, manifest: JSON.stringify(manifest) });
    expect(res.status).toBe(422);
    const body = (await res.json()) as ErrorJson;
    expect(body.error.field).toBe("edge_form.probe");
    expect(body.error.message).toContain("EDGE_FORM_THRESHOLDS.distilled");
  });

  it("holds an exact form to the exact bar", async () => {
    const parts = await bundleParts("fx-exact24", "exact-claims-too-much");
    const manifest = JSON.parse(parts.manifest);
    manifest.edge_form.agreement.curve_mae = 1e-3;
    const res = await upload({ ...parts, manifest: JSON.stringify(manifest) });
    expect(res.status).toBe(422);
    expect(((await res.json()) as ErrorJson).error.message).toContain(
      "EDGE_FORM_THRESHOLDS.exact.curve_mae",
    );
  });

  it("does not take the teacher's files with an edge form", async () => {
    const parts = await bundleParts("fx-distilled24", "with-teacher");
    parts.files.set("predictor/lsnr.onnx", new Uint8Array([1, 2, 3]));
    const res = await upload(parts);
    expect(res.status).toBe(422);
    expect(((await res.json()) as ErrorJson).error.field).toBe("predictor/lsnr.onnx");
  });
});

describe("budget cache", () => {
  beforeAll(async () => {
    await clearWorkers();
    await registerWorker("embedder-1", "ok-embed.fake");
    await installActive("fx-distilled24", "cache-distilled24");
  });

  const metric = (text: string, name: string) =>
    Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1]);

  it("answers an identical prompt from the isolate cache with the same budget", async () => {
    const before = await (await SELF.fetch("http://edge/metrics")).text();
    const prompt = `cache probe ${crypto.randomUUID()}`;
    const first = await postJson("/v1/budget", { prompt, include_curves: true });
    const missTiming = first.headers.get("server-timing") ?? "";
    expect(missTiming).toMatch(/cache;desc="miss"/);
    // The phases of a miss, each timed, inside the request's total.
    const names = (t: string) => t.split(",").map((e) => e.trim().split(";")[0]);
    expect(names(missTiming)).toEqual(
      expect.arrayContaining(["total", "budget", "embed", "predict"]),
    );
    // A distilled student recomputes faster than a Cache API lookup: no tier 2 for it.
    expect(names(missTiming)).not.toContain("cache-lookup");
    const second = await postJson("/v1/budget", { prompt, include_curves: true });
    const hitTiming = second.headers.get("server-timing") ?? "";
    expect(hitTiming).toContain('cache;desc="isolate"');
    expect(hitTiming).toMatch(/cache-hit-rate;dur=[0-9.]+/);
    expect(names(hitTiming)).not.toContain("embed");
    expect(names(hitTiming)).toContain("total");
    expect(await second.json()).toEqual(await first.json());
    const after = await (await SELF.fetch("http://edge/metrics")).text();
    const isolateHits = 'budgetfusion_budget_cache_lookups_total{result="isolate"}';
    const hits = (t: string) =>
      Number(
        t
          .split("\n")
          .find((l) => l.startsWith(isolateHits))
          ?.split(" ")[1],
      );
    expect(hits(after) - hits(before)).toBe(1);
    expect(metric(after, "budgetfusion_budget_cache_hit_rate")).toBeGreaterThan(0);
    expect(metric(after, "budgetfusion_ort_wasm_memory_bytes")).toBeGreaterThan(0);
    // The new prompt's curves (129 x 3 float32) and its p̄ joined this isolate's tiers.
    const grew = (name: string) => metric(after, name) - metric(before, name);
    expect(grew("budgetfusion_budget_cache_entries")).toBe(1);
    expect(grew("budgetfusion_budget_cache_bytes")).toBe(129 * 3 * 4);
    expect(grew("budgetfusion_embedding_cache_entries")).toBe(1);
    const { width } = fixtureBundle("fx-distilled24").manifest.embedding;
    expect(grew("budgetfusion_embedding_cache_bytes")).toBe(4 * width);
  });

  it("keys by bundle version: another version recomputes", async () => {
    const prompt = `version probe ${crypto.randomUUID()}`;
    await postJson("/v1/budget", { prompt });
    await installActive("fx-exact24", "cache-exact24");
    const res = await postJson("/v1/budget", { prompt });
    expect(res.headers.get("server-timing")).toMatch(/cache;desc="(miss|cache-api)"/);
    expect(((await res.json()) as BudgetResponse).predictor_form).toBe("exact");
  });

  it("keeps curves in the Cache API only where recomputing costs more than a lookup", async () => {
    const stored = async (version: string, prompt: string) => {
      const url = budgetCacheUrl(await budgetCacheKey(version, prompt));
      // The write runs after the response (waitUntil).
      for (let i = 0; i < 40; i++) {
        if ((await caches.default.match(url)) !== undefined) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    };
    await installActive("fx-distilled24", "cache-tier-distilled24");
    const prompt = `tier probe ${crypto.randomUUID()}`;
    const distilled = await postJson("/v1/budget", { prompt });
    expect(distilled.status).toBe(200);
    expect(await stored("cache-tier-distilled24", prompt)).toBe(false);
    await installActive("fx-exact24", "cache-tier-exact24");
    const exact = await postJson("/v1/budget", { prompt });
    expect(exact.headers.get("server-timing")).toContain("cache-lookup");
    expect(await stored("cache-tier-exact24", prompt)).toBe(true);
  });
});
