/**
 * Routing through the dispatcher Durable Object against fake GPU workers (fake-gpu-workers.ts):
 * healthy dispatch, steps "auto", a full worker (429), a dead worker, a worker dying mid-job, a
 * 5xx, a worker rejecting the request, no worker at all, heartbeat expiry, lease expiry, and
 * idempotent completion (never completed twice).
 */

import { env, runDurableObjectAlarm, SELF } from "cloudflare:test";
import { d1Database } from "@budgetfusion/edge/db/client";
import { completeJob, getJob, insertJob } from "@budgetfusion/edge/db/queries/jobs";
import { DISPATCHER_NAME } from "@budgetfusion/edge/dispatch/dispatcher";
import { stepBudget } from "@budgetfusion/shared/plateau/step-budget";
import type { JobResponse } from "@budgetfusion/shared/schemas/edge-api";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PROBE_PROMPTS } from "./fixture-contract";
import {
  ADMIN,
  type Call,
  clearFakeCalls,
  clearWorkers,
  fakeCalls,
  fixtureBundle,
  installActive,
  postJson,
  registerWorker,
  registration,
  WORKER,
} from "./helpers";

const generateCalls = async (): Promise<Call[]> =>
  (await fakeCalls()).filter((c) => c.path === "/v1/generate");

async function generate(body: Record<string, unknown>, wait = 30): Promise<JobResponse> {
  const res = await postJson(`/v1/generate?wait=${wait}`, body);
  expect(res.status).toBe(200);
  return (await res.json()) as JobResponse;
}

async function pollJob(id: string, until: (j: JobResponse) => boolean, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const job = (await (await SELF.fetch(`http://edge/v1/jobs/${id}`)).json()) as JobResponse;
    if (until(job) || Date.now() > end) return job;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function imagesOf(jobId: string) {
  const listed = await env.BLOBS.list({ prefix: `images/${jobId}` });
  return listed.objects.map((o) => o.key);
}

const bundle = fixtureBundle("fx-gpu24");

beforeAll(async () => {
  await clearWorkers();
  await registerWorker("embedder", "ok-embed.fake", 1);
  await installActive("fx-gpu24", "routing-gpu24");
});

beforeEach(async () => {
  await clearWorkers();
  await clearFakeCalls();
});

describe("dispatch", () => {
  it("runs a job on a healthy worker with the bundle's scheduler and serves the PNG", async () => {
    await registerWorker("w-ok", "ok-1.fake");
    const job = await generate({
      prompt: "a red cube",
      steps: 4,
      seed: 7,
      guidance_scale: 5,
      width: 64,
      height: 64,
    });
    expect(job).toMatchObject({
      status: "succeeded",
      steps: 4,
      steps_source: "fixed",
      seed: 7,
      worker: "w-ok",
      attempt: 1,
    });
    expect(job.predictor_version).toBe("routing-gpu24");
    expect(job.timings).toMatchObject({ model: "tiny-sd2", steps: 4, seed: 7 });
    const calls = await generateCalls();
    expect(calls).toHaveLength(1);
    expect(calls[0].body).toEqual({
      prompt: "a red cube",
      steps: 4,
      seed: 7,
      guidance_scale: 5,
      width: 64,
      height: 64,
      scheduler: bundle.manifest.diffusion_model.scheduler_config,
    });
    const img = await SELF.fetch(`http://edge${job.image_url}`);
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/png");
    expect([...new Uint8Array(await img.arrayBuffer()).subarray(0, 4)]).toEqual([
      0x89, 0x50, 0x4e, 0x47,
    ]);
  });

  it('steps "auto" generates with the predicted t*', async () => {
    await registerWorker("w-ok", "ok-1.fake");
    const prompt = PROBE_PROMPTS[2];
    const expected = stepBudget(bundle.expected[prompt], {
      weights: bundle.manifest.plateau.weights,
      eps: bundle.manifest.plateau.eps,
    }).steps;
    const job = await generate({ prompt, seed: 1 });
    expect(job).toMatchObject({ status: "succeeded", steps: expected, steps_source: "auto" });
    expect((await generateCalls())[0].body?.steps).toBe(expected);
  });

  it("defaults guidance and size to the settings the bundle's dataset used", async () => {
    await registerWorker("w-ok", "ok-1.fake");
    await generate({ prompt: "defaults", steps: 2, seed: 2 });
    const { generation } = bundle.manifest.diffusion_model;
    expect(generation).toEqual({ guidance_scale: 1.5, width: 64, height: 72 });
    expect((await generateCalls())[0].body).toMatchObject({
      guidance_scale: 1.5,
      width: 64,
      height: 72,
    });
  });

  it("prefers a worker serving the bundle's diffusion model over a freer one serving another", async () => {
    await registerWorker("w-other-model", "ok-other.fake", 8, "some-other-model");
    await registerWorker("w-same-model", "ok-same.fake", 1, "tiny-sd2");
    expect((await generate({ prompt: "model match", steps: 2 })).worker).toBe("w-same-model");
  });

  it("a job accepted without any worker waits queued and runs once a worker registers", async () => {
    const res = await postJson("/v1/generate", { prompt: "patience", steps: 2 });
    expect(res.status).toBe(202);
    const { job_id, status } = (await res.json()) as { job_id: string; status: string };
    expect(status).toBe("queued");
    expect(res.headers.get("location")).toBe(`/v1/jobs/${job_id}`);
    expect((await pollJob(job_id, () => false, 300)).status).toBe("queued");
    await registerWorker("w-late", "ok-late.fake");
    const job = await pollJob(job_id, (j) => j.status === "succeeded");
    expect(job).toMatchObject({ status: "succeeded", worker: "w-late", attempt: 1 });
  });
});

describe("faults are retried on another worker", () => {
  // The faulty worker advertises more spare capacity, so it is picked first.
  it.each([
    ["full (429)", "full.fake"],
    ["down (connection refused)", "down.fake"],
    ["dying mid-response", "dies.fake"],
    ["failing (500)", "error.fake"],
  ])("worker %s", async (_name, host) => {
    await registerWorker("w-faulty", host, 8);
    await registerWorker("w-good", "ok-2.fake", 1);
    const job = await generate({ prompt: `fault ${host}`, steps: 3, seed: 3 });
    expect(job).toMatchObject({ status: "succeeded", worker: "w-good", attempt: 2 });
    expect((await generateCalls()).map((c) => c.host)).toEqual([host, "ok-2.fake"]);
    expect(await imagesOf(job.job_id)).toEqual([`images/${job.job_id}-2.png`]);
  });

  it("a worker rejecting the request (400) fails the job without retrying", async () => {
    await registerWorker("w-picky", "bad-request.fake", 8);
    await registerWorker("w-good", "ok-2.fake", 1);
    const job = await generate({ prompt: "rejected", steps: 3 });
    expect(job.status).toBe("failed");
    expect(job.error?.code).toBe("upstream_rejected");
    expect((await generateCalls()).map((c) => c.host)).toEqual(["bad-request.fake"]);
  });

  it("gives up after JOB_MAX_ATTEMPTS when every worker fails", async () => {
    await registerWorker("w-broken", "error.fake", 1);
    // The fake worker does not heartbeat by itself; keep it in the rotation meanwhile (TTL 3 s).
    const beat = setInterval(() => {
      void postJson(
        "/v1/workers/w-broken/heartbeat",
        registration("w-broken", "error.fake", 1),
        WORKER,
      );
    }, 500);
    const job = await generate({ prompt: "doomed", steps: 3 }, 50).finally(() =>
      clearInterval(beat),
    );
    expect(job.status).toBe("failed");
    expect(job.error?.code).toBe("retries_exhausted");
    expect(job.attempt).toBe(5);
    expect(await generateCalls()).toHaveLength(5);
  });
});

describe("heartbeats", () => {
  it("a worker that misses heartbeats leaves the rotation and rejoins on a heartbeat", async () => {
    await registerWorker("w-stale", "ok-stale.fake", 8);
    await registerWorker("w-live", "ok-live.fake", 1);
    // HEARTBEAT_INTERVAL_S = 1 and 3 misses in the test config: 10 s of silence is expiry.
    await env.DB.prepare("UPDATE workers SET last_heartbeat_at = ? WHERE id = 'w-stale'")
      .bind(Date.now() - 10_000)
      .run();
    const list = (await (
      await SELF.fetch("http://edge/admin/workers", { headers: ADMIN })
    ).json()) as {
      workers: { worker_id: string; healthy: boolean }[];
    };
    expect(list.workers.map((w) => [w.worker_id, w.healthy])).toEqual([
      ["w-live", true],
      ["w-stale", false],
    ]);
    expect((await generate({ prompt: "skip the stale one", steps: 2 })).worker).toBe("w-live");

    const hb = await postJson(
      "/v1/workers/w-stale/heartbeat",
      registration("w-stale", "ok-stale.fake", 8),
      WORKER,
    );
    expect(hb.status).toBe(200);
    expect(await hb.json()).toEqual({ heartbeat_interval_s: 1 });
    expect((await generate({ prompt: "stale is back", steps: 2 })).worker).toBe("w-stale");
  });

  it("a heartbeat from an unknown worker is 404 (it must register)", async () => {
    const res = await postJson(
      "/v1/workers/ghost/heartbeat",
      registration("ghost", "ok.fake"),
      WORKER,
    );
    expect(res.status).toBe(404);
  });

  it("a heartbeat whose body names another worker is 400 on worker_id", async () => {
    await registerWorker("w-a", "ok-a.fake");
    const res = await postJson(
      "/v1/workers/w-a/heartbeat",
      registration("w-b", "ok-a.fake"),
      WORKER,
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe("worker_id");
  });
});

describe("never lost, never completed twice", () => {
  it("completion is conditional on the owning attempt", async () => {
    const db = d1Database(env.DB);
    const id = crypto.randomUUID();
    await insertJob(db, {
      id,
      status: "running",
      attempt: 2,
      request: "{}",
      steps: 3,
      stepsSource: "fixed",
      seed: 1,
      createdAt: Date.now(),
    });
    const result = { imageKey: "images/x.png", timings: {}, now: Date.now() };
    expect(await completeJob(db, id, 1, result)).toBe(false);
    expect(await completeJob(db, id, 2, result)).toBe(true);
    expect(await completeJob(db, id, 2, result)).toBe(false);
    expect((await getJob(db, id))?.status).toBe("succeeded");
  });

  it("an attempt whose lease expired (its worker or dispatcher died) is re-queued by the alarm and run once", async () => {
    await registerWorker("w-rescue", "ok-rescue.fake");
    const db = d1Database(env.DB);
    const id = crypto.randomUUID();
    const request = { prompt: "orphan", steps: 2, seed: 5 };
    await insertJob(db, {
      id,
      status: "running",
      attempt: 1,
      request: JSON.stringify(request),
      steps: 2,
      stepsSource: "fixed",
      seed: 5,
      workerId: "ghost-worker",
      createdAt: Date.now() - 60_000,
      leaseUntil: Date.now() - 1_000,
    });
    const stub = env.DISPATCHER.get(env.DISPATCHER.idFromName(DISPATCHER_NAME));
    await runDurableObjectAlarm(stub);
    const job = await pollJob(id, (j) => j.status === "succeeded");
    expect(job).toMatchObject({ status: "succeeded", attempt: 2, worker: "w-rescue" });
    // The presumed-dead first attempt answers late: it must not complete the job again.
    expect(
      await completeJob(db, id, 1, { imageKey: "images/late.png", timings: {}, now: Date.now() }),
    ).toBe(false);
    expect((await getJob(db, id))?.imageKey).toBe(`images/${id}-2.png`);
    expect((await generateCalls()).filter((c) => c.body?.prompt === "orphan")).toHaveLength(1);
  });
});
