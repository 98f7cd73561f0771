/**
 * Per-key limits in workerd, on the rate-limiting bindings wrangler.toml configures (emulated by
 * the pool as by wrangler dev): budgets and generations counted apart, 429 with Retry-After and
 * a JSON error naming the limit, each plan's numbers equal to its bindings', and the
 * concurrent-jobs cap per key.
 */
import { env, SELF } from "cloudflare:test";
import { PLANS } from "@budgetfusion/edge/keys/plans";
import { beforeAll, describe, expect, it } from "vitest";
import {
  bearer,
  type CreatedKey,
  clearWorkers,
  createKey,
  type ErrorJson,
  installActive,
  postJson,
  registerWorker,
} from "./helpers";

/**
 * The emulated binding counts in windows aligned to multiples of the period since the epoch
 * (miniflare's ratelimit worker), so a run that crosses a boundary sees a fresh count mid-loop:
 * start the loop with at least `marginS` of the window left.
 */
async function awaitFreshWindow(periodS: number, marginS = 20): Promise<void> {
  const left = periodS * 1000 - (Date.now() % (periodS * 1000));
  if (left < marginS * 1000) await new Promise((r) => setTimeout(r, left + 50));
}

interface RateLimitedJson {
  error: ErrorJson["error"] & { details: { limit: string; limit_value: number } };
}

async function expectLimited(res: Response, limit: string, value: number) {
  expect(res.status).toBe(429);
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  const body = (await res.json()) as RateLimitedJson;
  expect(body.error.code).toBe("rate_limited");
  expect(body.error.details).toMatchObject({ limit, limit_value: value });
  expect(body.error.message).toContain(limit);
}

beforeAll(async () => {
  await clearWorkers();
  await registerWorker("embedder", "ok-embed.fake", 1);
  await installActive("fx-gpu24", "limits-gpu24");
});

describe("the plans' limits", () => {
  // wrangler.toml's bindings cannot be asked for their numbers: count where each one refuses.
  for (const [plan, { rate }] of Object.entries(PLANS)) {
    for (const [kind, { limit, binding }] of Object.entries(rate)) {
      it(`${plan} ${kind}: ${binding} allows exactly ${limit} per window`, async () => {
        const key = crypto.randomUUID();
        const outcomes: boolean[] = [];
        for (let i = 0; i <= limit; i++) outcomes.push((await env[binding].limit({ key })).success);
        expect(outcomes.filter(Boolean)).toHaveLength(limit);
        expect(outcomes[limit]).toBe(false);
      });
    }
  }
});

describe("rate limits per key", () => {
  let key: CreatedKey;
  beforeAll(async () => {
    key = await createKey({ name: "limited", plan: "free" });
  });

  it("budgets past the plan's limit are 429 budgets_per_minute with Retry-After", async () => {
    const limit = key.limits.budgets_per_minute;
    await awaitFreshWindow(PLANS.free.periodS);
    const statuses: number[] = [];
    for (let i = 0; i < limit; i++) {
      statuses.push((await postJson("/v1/budget", { prompt: `p${i}` }, bearer(key))).status);
    }
    expect(statuses.every((s) => s === 200)).toBe(true);
    const over = await postJson("/v1/budget", { prompt: "one too many" }, bearer(key));
    await expectLimited(over, "budgets_per_minute", limit);
    expect(over.headers.get("retry-after")).toBe("60");
  });

  it("generations are counted apart from budgets, and limited on their own", async () => {
    const limit = key.limits.generations_per_minute;
    // A live worker, so the edge admits the jobs (admission control needs one alive).
    await registerWorker("w-gen", "ok-gen.fake", 4);
    await awaitFreshWindow(PLANS.free.periodS);
    // Budgets were spent above (in this window or the last); generations have their own.
    for (let i = 0; i < limit; i++) {
      const res = await postJson("/v1/generate", { prompt: "g", steps: 1 }, bearer(key));
      // 202 accepted, or 429 concurrent_jobs / queue_full while jobs run: not the rate limit.
      if (res.status === 429) {
        const error = ((await res.json()) as RateLimitedJson).error;
        expect(error.code === "queue_full" || error.details.limit === "concurrent_jobs").toBe(true);
      } else expect([200, 202]).toContain(res.status); // 200: the fake worker already finished it
    }
    const over = await postJson("/v1/generate", { prompt: "g", steps: 1 }, bearer(key));
    await expectLimited(over, "generations_per_minute", limit);
  });

  it("another key of the same plan has its own window", async () => {
    const other = await createKey({ name: "unlimited-yet", plan: "free" });
    expect((await postJson("/v1/budget", { prompt: "p" }, bearer(other))).status).toBe(200);
  });

  it("local mode's anonymous consumer is not rate limited", async () => {
    for (let i = 0; i <= PLANS.free.rate.generations.limit; i++) {
      expect((await postJson("/v1/budget", { prompt: `anon ${i}` })).status).toBe(200);
    }
  });
});

describe("concurrent jobs per key", () => {
  it("a key's cap refuses the job past it (429 concurrent_jobs) and frees with the jobs", async () => {
    // One live worker that is always full (429, Retry-After 30): the edge admits jobs (a worker
    // of the model is alive) and they stay queued, holding their slots.
    await clearWorkers();
    await registerWorker("w-full", "full.fake", 4);
    const key = await createKey({ name: "capped", plan: "pro", concurrent_jobs: 2 });
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await postJson("/v1/generate", { prompt: "c", steps: 1 }, bearer(key));
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { job_id: string }).job_id);
    }
    const third = await postJson("/v1/generate", { prompt: "c", steps: 1 }, bearer(key));
    await expectLimited(third, "concurrent_jobs", 2);
    // Another key is not held back by this one's jobs.
    const other = await createKey({ name: "not-capped", plan: "pro", concurrent_jobs: 2 });
    expect((await postJson("/v1/generate", { prompt: "c", steps: 1 }, bearer(other))).status).toBe(
      202,
    );
    // The queued jobs run once a worker is there; their slots free when they finish.
    await registerWorker("w-cap", "ok-cap.fake", 4);
    for (const id of ids) {
      const end = Date.now() + 20_000;
      let status = "queued";
      while (status !== "succeeded" && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
        const res = await SELF.fetch(`http://edge/v1/jobs/${id}`, { headers: bearer(key) });
        status = ((await res.json()) as { status: string }).status;
      }
      expect(status).toBe("succeeded");
    }
    const freed = await postJson("/v1/generate", { prompt: "c", steps: 1 }, bearer(key));
    // Accepted: 202, or 200 when the worker already finished it before the answer.
    expect([200, 202]).toContain(freed.status);
  });
});
