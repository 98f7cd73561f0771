/**
 * POST /v1/budget end to end in workerd: bundle uploaded through the admin API, activated, and
 * the edge's curves compared with onnxruntime-node's (global setup) within 1e-5; t* compared with
 * the shared plateau rule applied to the reference curves; mode "allocate" compared with the
 * shared allocation rule at the bundle's calibration, and refused for a bundle without one.
 */

import { env, SELF } from "cloudflare:test";
import {
  type AllocationPrice,
  allocateSteps,
  calibrateAllocation,
  calibrateAllocationTable,
  metricAlone,
  tabledPrice,
} from "@budgetfusion/shared/plateau/allocate";
import { stepsForQuality } from "@budgetfusion/shared/plateau/quality-target";
import { stepBudget } from "@budgetfusion/shared/plateau/step-budget";
import type { BudgetResponse } from "@budgetfusion/shared/schemas/edge-api";
import { beforeAll, describe, expect, it } from "vitest";
import { PROBE_PROMPTS } from "./fixture-contract";
import {
  ADMIN,
  clearFakeCalls,
  clearWorkers,
  type ErrorJson,
  fakeCalls,
  fixtureBundle,
  installActive,
  postJson,
  registerWorker,
} from "./helpers";

function maxAbs(a: number[], b: number[]) {
  expect(a.length).toBe(b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i])));
}

describe("budget with a GPU-worker embedding bundle (fx-gpu24)", () => {
  const bundle = fixtureBundle("fx-gpu24");
  beforeAll(async () => {
    await clearWorkers();
    await registerWorker("embedder-1", "ok-embed.fake");
    await installActive("fx-gpu24", "budget-gpu24");
  }, 60_000);

  it.each(PROBE_PROMPTS)("curves equal onnxruntime-node's within 1e-5: %s", async (prompt) => {
    const res = await postJson("/v1/budget", { prompt, include_curves: true });
    expect(res.status).toBe(200);
    const body = (await res.json()) as BudgetResponse;
    const expected = bundle.expected[prompt];
    for (const m of ["lsnr", "dsim", "iclip"] as const) {
      expect(maxAbs(body.curves?.[m] ?? [], expected[m])).toBeLessThanOrEqual(1e-5);
    }
    expect(body.curves?.steps).toEqual(Array.from({ length: 129 }, (_, i) => i + 1));
    const ref = stepBudget(expected, {
      weights: bundle.manifest.plateau.weights,
      eps: bundle.manifest.plateau.eps,
    });
    expect(body.steps).toBe(ref.steps);
    expect(body.per_metric).toEqual(ref.perMetric);
    expect(body.reference_steps).toBe(65);
    expect(body.savings_vs_reference).toBeCloseTo(1 - ref.steps / 65, 12);
    expect(body.predictor_version).toBe("budget-gpu24");
    expect(body.mode).toBe("plateau");
  });

  it("omits curves unless asked and clamps to [min_steps, max_steps]", async () => {
    const prompt = PROBE_PROMPTS[0];
    const ref = stepBudget(bundle.expected[prompt], {
      weights: bundle.manifest.plateau.weights,
      eps: bundle.manifest.plateau.eps,
    });
    const lo = Math.min(129, ref.steps + 5);
    const res = await postJson("/v1/budget", { prompt, min_steps: lo, max_steps: 129 });
    const body = (await res.json()) as BudgetResponse;
    expect(body.curves).toBeUndefined();
    expect(body.steps).toBe(lo);
    const capped = (await (
      await postJson("/v1/budget", { prompt, max_steps: 1 })
    ).json()) as BudgetResponse;
    expect(capped.steps).toBe(1);
  });

  it("quality mode follows the shared quality-target rule", async () => {
    const prompt = PROBE_PROMPTS[1];
    const ref = stepsForQuality(bundle.expected[prompt], 0.9);
    const body = (await (
      await postJson("/v1/budget", { prompt, quality: 0.9 })
    ).json()) as BudgetResponse;
    expect(body.mode).toBe("quality");
    expect(body.steps).toBe(ref.steps);
    expect(body.per_metric).toEqual(ref.perMetric);
  });

  it("caches embeddings: a repeated prompt does not call /v1/embed again", async () => {
    await clearFakeCalls();
    const prompt = "a prompt seen twice";
    await postJson("/v1/budget", { prompt });
    await postJson("/v1/budget", { prompt });
    const embeds = (await fakeCalls()).filter((c) => c.path === "/v1/embed");
    expect(embeds).toHaveLength(1);
    expect(embeds[0].body).toEqual({ texts: [prompt] });
  });

  it("keeps a new prompt's embedding in D1 after the response; another version reuses it", async () => {
    await clearFakeCalls();
    const prompt = "an embedding kept for the next bundle version";
    const count = async () =>
      (await env.DB.prepare("SELECT COUNT(*) AS n FROM embedding_cache").first<{ n: number }>())
        ?.n ?? 0;
    const before = await count();
    const first = (await (await postJson("/v1/budget", { prompt })).json()) as BudgetResponse;
    // The D1 write runs after the response (waitUntil): poll for it.
    let rows = await count();
    for (let i = 0; i < 50 && rows === before; i++) {
      await new Promise((done) => setTimeout(done, 20));
      rows = await count();
    }
    expect(rows).toBe(before + 1);
    await installActive("fx-gpu24", "budget-gpu24-again");
    try {
      const again = (await (await postJson("/v1/budget", { prompt })).json()) as BudgetResponse;
      expect(again.predictor_version).toBe("budget-gpu24-again");
      expect(again.steps).toBe(first.steps);
      expect((await fakeCalls()).filter((c) => c.path === "/v1/embed")).toHaveLength(1);
    } finally {
      await SELF.fetch("http://edge/admin/bundles/budget-gpu24/activate", {
        method: "POST",
        headers: ADMIN,
      });
    }
  });

  it("readyz reports the active version once a worker of its model is alive", async () => {
    await registerWorker("w-ready", "ok-ready.fake");
    const res = await SELF.fetch("http://edge/readyz");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: "ready",
      predictor_version: "budget-gpu24",
      model_id: "tiny-sd2",
    });
  });
});

describe("budget with an edge-embedding bundle (fx-edge16: tiny-clip + exported predictors)", () => {
  const bundle = fixtureBundle("fx-edge16");
  beforeAll(async () => {
    await installActive("fx-edge16", "budget-edge16");
  }, 60_000);

  it.each(PROBE_PROMPTS)("curves equal onnxruntime-node's within 1e-5: %s", async (prompt) => {
    await clearFakeCalls();
    const res = await postJson("/v1/budget", { prompt, include_curves: true });
    expect(res.status).toBe(200);
    const body = (await res.json()) as BudgetResponse;
    const expected = bundle.expected[prompt];
    for (const m of ["lsnr", "dsim", "iclip"] as const) {
      expect(maxAbs(body.curves?.[m] ?? [], expected[m])).toBeLessThanOrEqual(1e-5);
    }
    const ref = stepBudget(expected, {
      weights: bundle.manifest.plateau.weights,
      eps: bundle.manifest.plateau.eps,
    });
    expect(body.steps).toBe(ref.steps);
    expect(body.per_metric).toEqual(ref.perMetric);
    expect(body.predictor_version).toBe("budget-edge16");
    // The embedding ran at the edge: no GPU worker was asked.
    expect((await fakeCalls()).filter((c) => c.path === "/v1/embed")).toEqual([]);
  });
});

describe('mode "allocate"', () => {
  const bundle = fixtureBundle("fx-edge16");
  const curves = PROBE_PROMPTS.map((p) => bundle.expected[p]);
  // A calibration for a 20-step mean over the probe prompts, as the evaluate stage makes one.
  const allocation = calibrateAllocation(curves, 20);

  /** An allocate request's steps, checked against the shared rule at `price` it must answer with. */
  async function allocated(
    req: { prompt: string } & Record<string, unknown>,
    price: AllocationPrice & { target_mean_steps: number },
    objective = "weighted",
  ): Promise<number> {
    const body = (await (await postJson("/v1/budget", req)).json()) as BudgetResponse;
    expect(body.mode).toBe("allocate");
    expect(body.steps).toBe(allocateSteps(bundle.expected[req.prompt], price));
    expect(body.allocation).toEqual({
      lambda: price.lambda,
      uniform_steps: price.uniform_steps,
      target_mean_steps: price.target_mean_steps,
      objective,
    });
    return body.steps;
  }

  it("answers the shared allocation rule at the bundle's calibration", async () => {
    await installActive("fx-edge16", "budget-alloc", { allocation });
    const steps: number[] = [];
    for (const prompt of PROBE_PROMPTS)
      steps.push(await allocated({ prompt, mode: "allocate" }, allocation));
    expect(steps.reduce((a, b) => a + b, 0) / steps.length).toBeCloseTo(
      allocation.calibrated_mean_steps,
      9,
    );
    // The default stays the plateau rule.
    const plain = (await (
      await postJson("/v1/budget", { prompt: PROBE_PROMPTS[0] })
    ).json()) as BudgetResponse;
    expect(plain.mode).toBe("plateau");
    expect(plain.allocation).toBeUndefined();
  });

  it("keeps to the caller's bounds", async () => {
    const prompt = PROBE_PROMPTS[0];
    const want = allocateSteps(bundle.expected[prompt], allocation, { minSteps: 100 });
    const body = (await (
      await postJson("/v1/budget", { prompt, mode: "allocate", min_steps: 100 })
    ).json()) as BudgetResponse;
    expect(body.steps).toBe(want);
    expect(body.steps).toBeGreaterThanOrEqual(100);
  });

  it("refuses mode and quality that contradict each other, naming mode", async () => {
    for (const req of [
      { mode: "allocate", quality: 0.9 },
      { mode: "quality" },
      { mode: "fastest" },
    ]) {
      const res = await postJson("/v1/budget", { prompt: "a cat", ...req });
      expect(res.status).toBe(400);
      expect(((await res.json()) as ErrorJson).error.field).toBe("mode");
    }
  });

  it("spends the request's mean_steps at the bundle's price for it", async () => {
    const table = calibrateAllocationTable(curves);
    await installActive("fx-edge16", "budget-alloc-table", {
      allocation,
      allocation_prices: table,
    });
    for (const target of [5, 40]) {
      const price = tabledPrice(table, target);
      const steps: number[] = [];
      for (const prompt of PROBE_PROMPTS)
        steps.push(await allocated({ prompt, mean_steps: target }, price));
      expect(steps.reduce((a, b) => a + b, 0) / steps.length).toBeCloseTo(
        table.prices[target - 1].calibrated_mean_steps,
        9,
      );
    }
    // Without mean_steps the bundle's own target answers.
    const own = (await (
      await postJson("/v1/budget", { prompt: PROBE_PROMPTS[0], mode: "allocate" })
    ).json()) as BudgetResponse;
    expect(own.allocation?.target_mean_steps).toBe(20);
    for (const req of [
      { mean_steps: 0 },
      { mean_steps: 2.5 },
      { mean_steps: 130 },
      { mean_steps: 20, mode: "plateau" },
      { mean_steps: 20, quality: 0.9 },
    ]) {
      const res = await postJson("/v1/budget", { prompt: "a cat", ...req });
      expect(res.status).toBe(400);
      expect(((await res.json()) as ErrorJson).error.field).toBe("mean_steps");
    }
  });

  it("spends the steps on one metric alone with objective, at that metric's own prices", async () => {
    const byMetric = {
      lsnr: calibrateAllocationTable(curves, metricAlone("lsnr")),
      dsim: calibrateAllocationTable(curves, metricAlone("dsim")),
      iclip: calibrateAllocationTable(curves, metricAlone("iclip")),
    };
    await installActive("fx-edge16", "budget-alloc-metric", {
      allocation,
      allocation_prices: calibrateAllocationTable(curves),
      allocation_prices_by_metric: byMetric,
    });
    for (const [objective, target] of [
      ["dsim", 30],
      ["iclip", 8],
      ["lsnr", undefined],
    ] as const) {
      // Without mean_steps: the bundle's own target (20) rounded.
      const price = tabledPrice(byMetric[objective], target ?? 20);
      for (const prompt of PROBE_PROMPTS)
        await allocated({ prompt, objective, mean_steps: target }, price, objective);
    }
    for (const req of [
      { objective: "speed" },
      { objective: "dsim", mode: "plateau" },
      { objective: "dsim", quality: 0.9 },
    ]) {
      const res = await postJson("/v1/budget", { prompt: "a cat", ...req });
      expect(res.status).toBe(400);
      expect(((await res.json()) as ErrorJson).error.field).toBe("objective");
    }
  });

  it("refuses objective with 400 naming it when the bundle has no per-metric prices", async () => {
    await installActive("fx-edge16", "budget-alloc-weighted", { allocation });
    const res = await postJson("/v1/budget", { prompt: "a cat", objective: "iclip" });
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorJson;
    expect(body.error.field).toBe("objective");
    expect(body.error.message).toMatch(/budget-alloc-weighted.*allocation_prices_by_metric/);
  });

  it("refuses mean_steps with 400 naming it when the bundle has no price table", async () => {
    await installActive("fx-edge16", "budget-alloc-only", { allocation });
    const res = await postJson("/v1/budget", { prompt: "a cat", mean_steps: 15 });
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorJson;
    expect(body.error.field).toBe("mean_steps");
    expect(body.error.message).toMatch(/budget-alloc-only.*allocation_prices.*20\.00 mean steps/);
  });

  it("refuses allocate with 400 naming mode when the bundle has no calibration", async () => {
    await installActive("fx-edge16", "budget-no-alloc");
    const res = await postJson("/v1/budget", { prompt: "a cat", mode: "allocate" });
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorJson;
    expect(body.error.field).toBe("mode");
    expect(body.error.message).toMatch(/budget-no-alloc.*allocation/);
  });
});
