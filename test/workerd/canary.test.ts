/**
 * Canary rollout in workerd: the stable bundle fx-gpu24 is active, and the candidate is the same
 * predictors with a coarser plateau threshold (eps x 4), so the two disagree on t* for some
 * prompts. Over 1,000 prompts the split the edge serves by (canary/canary-split.ts) gives the
 * candidate a share within 2 points of the setting; the first HTTP_PROMPTS of them go through
 * POST /v1/budget, and each answer comes from the side that split names (the shared 2-core
 * machine answers ~2 budgets a second under load, too slow for 1,000 in a test). A prompt always
 * lands on the same side, raising the share only adds prompts, the report's traffic counts and
 * t* differences equal those recomputed from the answers, and promote, abort and rollback (one
 * call, which also ends a running canary) work. The prompts' embeddings are put in the edge's
 * embedding cache first (the fake embedder's vectors), so budgets make no calls to the fake pool.
 */
import { env, SELF } from "cloudflare:test";
import { promptBucket } from "@budgetfusion/edge/canary/canary-split";
import { d1Database } from "@budgetfusion/edge/db/client";
import { putCachedEmbedding } from "@budgetfusion/edge/db/queries/embeddings";
import { l2NormalizeRows } from "@budgetfusion/shared/embedding/clip-text-embedder";
import type { BundleManifest } from "@budgetfusion/shared/predictor/bundle-manifest";
import { type CanaryView, canaryViewSchema } from "@budgetfusion/shared/schemas/consumer-api";
import type { BudgetResponse } from "@budgetfusion/shared/schemas/edge-api";
import { beforeAll, describe, expect, it } from "vitest";
import { fakeEmbedding } from "./fake-embedding";
import {
  ADMIN,
  bundleParts,
  clearWorkers,
  type ErrorJson,
  installActive,
  postJson,
  registerWorker,
  upload,
} from "./helpers";

const STABLE = "canary-stable";
const CANDIDATE = "canary-cand";
/** Budgets in flight at once. */
const BATCH = 10;
const PROMPTS = Array.from({ length: 1000 }, (_, i) => `canary prompt ${i}: a ${i % 7} red cube`);
/** The prompts sent through POST /v1/budget, and how many of them are sent twice. */
const HTTP_PROMPTS = PROMPTS.slice(0, 200);
const REPEATED = HTTP_PROMPTS.slice(0, 30);

async function sha256Hex(text: string) {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const admin = (path: string, body?: unknown) =>
  body === undefined
    ? SELF.fetch(`http://edge${path}`, { method: "POST", headers: ADMIN })
    : postJson(path, body, ADMIN);

async function report(): Promise<CanaryView> {
  const res = await SELF.fetch(`http://edge/admin/bundles/${CANDIDATE}/canary`, {
    headers: ADMIN,
  });
  expect(res.status).toBe(200);
  return canaryViewSchema.parse(await res.json());
}

/** The report once the counters written after the responses have caught up. */
async function settledReport(until: (v: CanaryView) => boolean): Promise<CanaryView> {
  const end = Date.now() + 120_000;
  for (;;) {
    const view = await report();
    if (until(view) || Date.now() > end) return view;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function budgets(prompts: readonly string[]): Promise<BudgetResponse[]> {
  const out: BudgetResponse[] = [];
  for (let i = 0; i < prompts.length; i += BATCH) {
    // A prompt missing from the cache is embedded by the fake GPU pool: keep its heartbeat fresh.
    await registerWorker("embedder", "ok-embed.fake", 1);
    const batch = prompts.slice(i, i + BATCH).map(async (prompt) => {
      const res = await postJson("/v1/budget", { prompt });
      const body = await res.text();
      expect(res.status, body).toBe(200);
      return JSON.parse(body) as BudgetResponse;
    });
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

async function activeVersion() {
  const res = await SELF.fetch("http://edge/admin/bundles", { headers: ADMIN });
  const { bundles } = (await res.json()) as { bundles: { version: string; active: boolean }[] };
  return bundles.find((b) => b.active)?.version;
}

beforeAll(async () => {
  await clearWorkers();
  await registerWorker("embedder", "ok-embed.fake", 1);
  await installActive("fx-gpu24", STABLE);
  const parts = await bundleParts("fx-gpu24", CANDIDATE);
  const manifest = JSON.parse(parts.manifest) as BundleManifest;
  for (const m of ["lsnr", "dsim", "iclip"] as const) manifest.plateau.eps[m] *= 4;
  const up = await upload({ ...parts, manifest: JSON.stringify(manifest) });
  expect(up.status).toBe(201);
  const { model_id, width } = manifest.embedding;
  const db = d1Database(env.DB);
  for (const prompt of HTTP_PROMPTS) {
    const key = await sha256Hex(`${model_id}\n${prompt}`);
    await putCachedEmbedding(
      db,
      key,
      model_id,
      l2NormalizeRows(fakeEmbedding(prompt, width), width),
    );
  }
}, 120_000);

describe("canary of a candidate bundle", () => {
  const served = new Map<string, BudgetResponse>();

  it("refuses bad starts: bad share, unknown version, the active version", async () => {
    for (const share of [0, 1.5, "10%"]) {
      const res = await admin(`/admin/bundles/${CANDIDATE}/canary`, { share });
      expect(res.status).toBe(400);
      expect(((await res.json()) as ErrorJson).error.field).toBe("share");
    }
    expect((await admin("/admin/bundles/nope/canary", { share: 0.1 })).status).toBe(404);
    const active = await admin(`/admin/bundles/${STABLE}/canary`, { share: 0.1 });
    expect(active.status).toBe(409);
    expect(((await active.json()) as ErrorJson).error.field).toBe("version");
    const none = await SELF.fetch(`http://edge/admin/bundles/${CANDIDATE}/canary`, {
      headers: ADMIN,
    });
    expect(none.status).toBe(404);
  });

  it("serves 10 % of 1,000 prompts by prompt hash, within 2 points", async () => {
    const res = await admin(`/admin/bundles/${CANDIDATE}/canary`, { share: 0.1 });
    expect(res.status).toBe(201);
    expect(canaryViewSchema.parse(await res.json())).toMatchObject({
      version: CANDIDATE,
      stable_version: STABLE,
      share: 0.1,
      status: "running",
    });
    const sides = await Promise.all(
      PROMPTS.map(async (p) => (await promptBucket(CANDIDATE, p)) < 0.1),
    );
    const share = sides.filter(Boolean).length / PROMPTS.length;
    console.log(`canary share over ${PROMPTS.length} prompts: ${share} (setting 0.1)`);
    expect(Math.abs(share - 0.1)).toBeLessThanOrEqual(0.02);
    const answers = await budgets(HTTP_PROMPTS);
    HTTP_PROMPTS.forEach((p, i) => {
      served.set(p, answers[i]);
    });
    // Each answer comes from the side the split names.
    expect(answers.map((a) => a.predictor_version === CANDIDATE)).toEqual(
      sides.slice(0, HTTP_PROMPTS.length),
    );
    const httpShare =
      answers.filter((a) => a.predictor_version === CANDIDATE).length / HTTP_PROMPTS.length;
    console.log(`canary share over ${HTTP_PROMPTS.length} budgets served: ${httpShare}`);
    // The same prompt lands on the same side every time.
    const again = await budgets(REPEATED);
    expect(again.map((a) => a.predictor_version)).toEqual(
      answers.slice(0, REPEATED.length).map((a) => a.predictor_version),
    );
  }, 600_000);

  it("a second candidate cannot start while this one runs", async () => {
    const up = await upload(await bundleParts("fx-gpu24", "canary-other"));
    expect(up.status).toBe(201);
    expect((await admin("/admin/bundles/canary-other/canary", { share: 0.1 })).status).toBe(409);
  });

  it("reports traffic and both bundles' t* for the canary prompts", async () => {
    const canaryPrompts = HTTP_PROMPTS.filter(
      (p) => served.get(p)?.predictor_version === CANDIDATE,
    );
    const total = HTTP_PROMPTS.length + REPEATED.length;
    const view = await settledReport(
      (v) => v.traffic.budgets >= total && v.agreement.samples >= canaryPrompts.length + 10,
    );
    expect(view.traffic.budgets).toBe(total);
    // The repeats landed on the sides their first answers did.
    const repeats = REPEATED.filter((p) => served.get(p)?.predictor_version === CANDIDATE).length;
    expect(view.traffic.canary_budgets).toBe(canaryPrompts.length + repeats);
    expect(view.traffic.observed_share).toBeCloseTo((canaryPrompts.length + repeats) / total, 12);
    expect(view.agreement.samples).toBe(canaryPrompts.length + repeats);
    expect(view.agreement.histogram.reduce((s, h) => s + h.count, 0)).toBe(view.agreement.samples);
    // Abort, then the stable bundle answers every prompt: the differences must match.
    const aborted = await admin(`/admin/bundles/${CANDIDATE}/canary/abort`);
    expect(aborted.status).toBe(200);
    expect(canaryViewSchema.parse(await aborted.json()).status).toBe("aborted");
    const stable = await budgets(canaryPrompts);
    expect(stable.every((b) => b.predictor_version === STABLE)).toBe(true);
    const diffs = new Map<number, number>();
    const repeated = new Set(REPEATED);
    canaryPrompts.forEach((p, i) => {
      const d = (served.get(p)?.steps ?? Number.NaN) - stable[i].steps;
      diffs.set(d, (diffs.get(d) ?? 0) + (repeated.has(p) ? 2 : 1));
    });
    const expected = [...diffs.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([difference, count]) => ({ difference, count }));
    const after = await report();
    expect(after.agreement.histogram).toEqual(expected);
    expect(after.status).toBe("aborted");
    expect(after.traffic.budgets).toBe(total);
    expect(await activeVersion()).toBe(STABLE);
    // Aborting what is not running is a conflict naming the version.
    expect((await admin(`/admin/bundles/${CANDIDATE}/canary/abort`)).status).toBe(409);
  }, 300_000);

  it("a larger share keeps the prompts a smaller one served", async () => {
    const small = await admin(`/admin/bundles/${CANDIDATE}/canary`, { share: 0.05 });
    expect(small.status).toBe(201);
    const sample = HTTP_PROMPTS.slice(0, 40);
    const before = await budgets(sample);
    const resized = await admin(`/admin/bundles/${CANDIDATE}/canary`, { share: 0.3 });
    expect(resized.status).toBe(200);
    expect(canaryViewSchema.parse(await resized.json()).share).toBe(0.3);
    const afterResize = await budgets(sample);
    const onCandidate = (list: BudgetResponse[]) =>
      list.map((b) => b.predictor_version === CANDIDATE);
    onCandidate(before).forEach((was, i) => {
      if (was) expect(onCandidate(afterResize)[i]).toBe(true);
    });
    expect(onCandidate(afterResize).filter(Boolean).length).toBeGreaterThan(
      onCandidate(before).filter(Boolean).length,
    );
  }, 300_000);

  it("promotes the candidate; one rollback call returns to the stable bundle", async () => {
    const res = await admin(`/admin/bundles/${CANDIDATE}/canary/promote`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { active: string; canary: CanaryView };
    expect(body.active).toBe(CANDIDATE);
    expect(body.canary.status).toBe("promoted");
    expect(await activeVersion()).toBe(CANDIDATE);
    const [after] = await budgets([PROMPTS[0]]);
    expect(after.predictor_version).toBe(CANDIDATE);
    const back = await admin("/admin/bundles/rollback");
    expect(await back.json()).toEqual({ active: STABLE });
    const [rolled] = await budgets([PROMPTS[0]]);
    expect(rolled.predictor_version).toBe(STABLE);
  }, 300_000);

  it("rollback also ends a running canary", async () => {
    // An activation to roll back to: canary-other, then the stable bundle again on top.
    for (const v of ["canary-other", STABLE]) {
      expect((await admin(`/admin/bundles/${v}/activate`)).status).toBe(200);
    }
    expect((await admin(`/admin/bundles/${CANDIDATE}/canary`, { share: 0.5 })).status).toBe(201);
    const back = await admin("/admin/bundles/rollback");
    expect(await back.json()).toEqual({ active: "canary-other" });
    expect((await report()).status).toBe("aborted");
    const answers = await budgets(HTTP_PROMPTS.slice(0, 20));
    expect(answers.some((a) => a.predictor_version === CANDIDATE)).toBe(false);
  }, 300_000);
});
