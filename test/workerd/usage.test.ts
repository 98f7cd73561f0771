/**
 * Usage and savings accounting in workerd: after budgets and jobs run on fake GPU workers (whose
 * x-bf-timings say total_ms 12, unet_ms 10), GET /v1/usage adds up to the jobs as GET /v1/jobs
 * reports them (steps, GPU seconds from the worker's timings) and to hand-computed savings
 * against the key's baseline and the paper's 65 steps; GET /admin/usage holds every key; the
 * admin view's plot is an SVG with labelled axes. Budgets are counted a window after they are
 * served (edge/src/usage/coalesced-counters.ts), so reads wait for them as for jobs.
 */
import { SELF } from "cloudflare:test";
import { stepBudget } from "@budgetfusion/shared/plateau/step-budget";
import {
  type AdminUsageResponse,
  adminUsageResponseSchema,
  type UsageResponse,
  usageResponseSchema,
} from "@budgetfusion/shared/schemas/consumer-api";
import type { JobResponse } from "@budgetfusion/shared/schemas/edge-api";
import { beforeAll, describe, expect, it } from "vitest";
import { PROBE_PROMPTS } from "./fixture-contract";
import {
  ADMIN,
  bearer,
  type CreatedKey,
  clearWorkers,
  createKey,
  fixtureBundle,
  installActive,
  postJson,
  registerWorker,
} from "./helpers";

const BASELINE = 30;
const REFERENCE = 65;
/** The fake workers' timings: 12 ms of compute, 10 of them in the UNet loop. */
const TOTAL_MS = 12;
const UNET_MS = 10;

const bundle = fixtureBundle("fx-gpu24");
const tStar = (prompt: string) =>
  stepBudget(bundle.expected[prompt], {
    weights: bundle.manifest.plateau.weights,
    eps: bundle.manifest.plateau.eps,
  }).steps;

async function usageOf(key: CreatedKey, until: (u: UsageResponse) => boolean) {
  const end = Date.now() + 20_000;
  for (;;) {
    const res = await SELF.fetch("http://edge/v1/usage", { headers: bearer(key) });
    expect(res.status).toBe(200);
    const usage = usageResponseSchema.parse(await res.json());
    if (until(usage) || Date.now() > end) return usage;
    await new Promise((r) => setTimeout(r, 100));
  }
}

let key: CreatedKey;
const jobs: JobResponse[] = [];
const budgets: number[] = [];
const counted = (u: UsageResponse) => u.totals.jobs === jobs.length && u.totals.budgets === 2;

beforeAll(async () => {
  await clearWorkers();
  await registerWorker("embedder", "ok-embed.fake", 1);
  await registerWorker("w-usage", "ok-usage.fake", 4);
  await installActive("fx-gpu24", "usage-gpu24");
  key = await createKey({ name: "usage", plan: "pro", baseline_steps: BASELINE });
  for (const prompt of PROBE_PROMPTS.slice(0, 2)) {
    const res = await postJson("/v1/budget", { prompt }, bearer(key));
    budgets.push(((await res.json()) as { steps: number }).steps);
  }
  const requests = [
    ...PROBE_PROMPTS.map((prompt) => ({ prompt, steps: "auto" })),
    { prompt: "fixed four", steps: 4 },
    { prompt: "fixed seven", steps: 7 },
  ];
  for (const body of requests) {
    // Heartbeats: the fake workers do not send their own.
    await registerWorker("embedder", "ok-embed.fake", 1);
    await registerWorker("w-usage", "ok-usage.fake", 4);
    const res = await postJson("/v1/generate?wait=30", { ...body, seed: 1 }, bearer(key));
    expect(res.status).toBe(200);
    jobs.push((await res.json()) as JobResponse);
  }
}, 120_000);

describe("usage per key and day", () => {
  it("adds up to the jobs run: counts, steps, GPU seconds from the workers' timings", async () => {
    const usage = await usageOf(key, counted);
    expect(jobs.every((j) => j.status === "succeeded")).toBe(true);
    const steps = jobs.reduce((s, j) => s + j.steps, 0);
    const workerMs = jobs.reduce(
      (s, j) => s + Number((j.timings?.worker as { total_ms?: number } | undefined)?.total_ms),
      0,
    );
    expect(workerMs).toBe(TOTAL_MS * jobs.length);
    expect(usage.totals).toMatchObject({
      budgets: 2,
      budget_steps: budgets[0] + budgets[1],
      jobs: jobs.length,
      steps_requested: steps,
      jobs_succeeded: jobs.length,
      jobs_failed: 0,
      steps_spent: steps,
      auto_jobs: PROBE_PROMPTS.length,
    });
    expect(usage.totals.gpu_seconds).toBeCloseTo(workerMs / 1000, 9);
    // One UTC day, and the day row is the totals.
    expect(usage.days).toHaveLength(1);
    const { day, ...counters } = usage.days[0];
    expect(day).toBe(new Date().toISOString().slice(0, 10));
    expect(counters).toEqual(usage.totals);
    expect(usage).toMatchObject({ key_id: key.key_id, baseline_steps: BASELINE, plan: "pro" });
  });

  it("savings count only where BudgetFusion chose the steps, against baseline and 65", async () => {
    const usage = await usageOf(key, counted);
    const auto = PROBE_PROMPTS.map(tStar);
    expect(jobs.slice(0, auto.length).map((j) => j.steps)).toEqual(auto);
    const sum = (f: (t: number) => number) => auto.reduce((s, t) => s + f(t), 0);
    expect(usage.totals.steps_saved_vs_baseline).toBe(sum((t) => BASELINE - t));
    expect(usage.totals.steps_saved_vs_reference).toBe(sum((t) => REFERENCE - t));
    // Only the UNet's share scales with steps: 10 ms over t* steps, the other 2 ms are fixed.
    expect(usage.totals.gpu_seconds_saved_vs_baseline).toBeCloseTo(
      sum((t) => ((UNET_MS / t) * (BASELINE - t)) / 1000),
      9,
    );
    expect(usage.totals.gpu_seconds_saved_vs_reference).toBeCloseTo(
      sum((t) => ((UNET_MS / t) * (REFERENCE - t)) / 1000),
      9,
    );
    expect(usage.totals.budget_steps_saved_vs_reference).toBe(
      budgets.reduce((s, t) => s + REFERENCE - t, 0),
    );
    expect(usage.totals.budget_steps_saved_vs_baseline).toBe(
      budgets.reduce((s, t) => s + BASELINE - t, 0),
    );
  });

  it("counts every budget of a burst once, in the window after it", async () => {
    const burst = await createKey({ name: "usage-burst", plan: "pro", baseline_steps: BASELINE });
    const prompts = Array.from({ length: 24 }, (_, i) => PROBE_PROMPTS[i % PROBE_PROMPTS.length]);
    const steps = await Promise.all(
      prompts.map(async (prompt) => {
        const res = await postJson("/v1/budget", { prompt }, bearer(burst));
        expect(res.status).toBe(200);
        return ((await res.json()) as { steps: number }).steps;
      }),
    );
    await usageOf(burst, (u) => u.totals.budgets >= prompts.length);
    // One more window: a budget written twice would show now.
    await new Promise((r) => setTimeout(r, 1_500));
    const usage = await usageOf(burst, () => true);
    const total = steps.reduce((s, t) => s + t, 0);
    expect(usage.totals).toMatchObject({
      budgets: prompts.length,
      budget_steps: total,
      budget_steps_saved_vs_baseline: prompts.length * BASELINE - total,
      budget_steps_saved_vs_reference: prompts.length * REFERENCE - total,
      jobs: 0,
    });
  });

  it("another key sees only its own usage", async () => {
    const other = await createKey({ name: "usage-other" });
    const usage = await usageOf(other, () => true);
    expect(usage.totals.jobs).toBe(0);
    expect(usage.days).toEqual([]);
  });

  it("refuses a bad day range naming the field", async () => {
    for (const [query, field] of [
      ["from=2026-02-30", "from"],
      ["from=2026-05-02&to=2026-05-01", "from"],
      ["from=2024-01-01&to=2026-01-01", "from"],
      ["to=yesterday", "to"],
    ]) {
      const res = await SELF.fetch(`http://edge/v1/usage?${query}`, { headers: bearer(key) });
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { error: { field: string } }).error.field).toBe(field);
    }
  });
});

describe("admin usage", () => {
  it("lists every key with its days and totals over all keys", async () => {
    await usageOf(key, counted);
    const res = await SELF.fetch("http://edge/admin/usage", { headers: ADMIN });
    expect(res.status).toBe(200);
    const all: AdminUsageResponse = adminUsageResponseSchema.parse(await res.json());
    const mine = all.keys.find((k) => k.key_id === key.key_id);
    expect(mine?.totals.jobs).toBe(jobs.length);
    for (const field of ["jobs", "steps_spent", "budgets"] as const) {
      expect(all.totals[field]).toBe(all.keys.reduce((s, k) => s + k.totals[field], 0));
    }
    expect(all.reference_steps).toBe(REFERENCE);
  });

  it("plots cumulative savings over time as SVG with labelled axes", async () => {
    for (const metric of ["steps", "gpu_seconds"]) {
      const res = await SELF.fetch(`http://edge/admin/usage/savings.svg?metric=${metric}`, {
        headers: ADMIN,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("image/svg+xml");
      const svg = await res.text();
      expect(svg).toMatch(/^<svg/);
      expect(svg).toContain("<title>");
      expect(svg).toContain("saved");
      expect(svg).toContain("days since");
    }
    const bad = await SELF.fetch("http://edge/admin/usage/savings.svg?metric=joules", {
      headers: ADMIN,
    });
    expect(bad.status).toBe(400);
  });
});
