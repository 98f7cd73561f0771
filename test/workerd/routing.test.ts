/**
 * Routing through the dispatcher Durable Object against fake GPU workers (fake-gpu-workers.ts):
 * healthy dispatch, steps "auto", a full worker (429), a dead worker, a worker dying mid-job, a
 * 5xx, a 404, a reply for another model, a worker rejecting the request, a pool that is busy for
 * a while, a pool that is down for a while, a hung worker, an edge restart mid-job, the job
 * deadline, admission control (no worker: 503, full queue: 429, Idempotency-Key), heartbeat
 * expiry, a job the worker silently dropped (its heartbeats stop listing it), lease expiry, and
 * idempotent completion (never completed twice). Issue 12's findings
 * 2, 3, 4, 5 (model check) and 7 are reproduced here.
 */

import { env, runDurableObjectAlarm, SELF } from "cloudflare:test";
import { d1Database } from "@budgetfusion/edge/db/client";
import { completeJob, getJob, insertJob } from "@budgetfusion/edge/db/queries/jobs";
import { dispatcherOf } from "@budgetfusion/edge/dispatch/dispatcher";
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

/** The worker that ran the job: internal, so read from D1 (public views do not show it). */
async function workerOf(jobId: string) {
  return (await getJob(d1Database(env.DB), jobId))?.workerId;
}

/**
 * Keeps fake workers in the rotation (they do not heartbeat by themselves; TTL is 3 s). With
 * `jobIds`, each heartbeat reports the job ids it returns for the worker, as the real one does.
 */
function keepBeating(workers: [string, string, number][], jobIds?: (id: string) => string[]) {
  const beat = () => {
    for (const [id, host, capacity] of workers) {
      const body = { ...registration(id, host, capacity), ...(jobIds && { job_ids: jobIds(id) }) };
      void postJson(`/v1/workers/${id}/heartbeat`, body, WORKER);
    }
  };
  const timer = setInterval(beat, 500);
  return () => clearInterval(timer);
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
  // A job left waiting by an earlier test must not run on this test's workers.
  await env.DB.exec("UPDATE jobs SET status = 'failed' WHERE status IN ('queued', 'running')");
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
      attempt: 1,
    });
    // Public views carry no internal worker details (finding 8).
    expect(job).not.toHaveProperty("worker");
    expect(await workerOf(job.job_id)).toBe("w-ok");
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
      // The edge's id, by which the worker reports the job's progress and takes its cancel.
      job_id: job.job_id,
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
    expect(await workerOf((await generate({ prompt: "model match", steps: 2 })).job_id)).toBe(
      "w-same-model",
    );
  });

  it("with no worker alive for the model, POST answers 503 with Retry-After and stores no job", async () => {
    await registerWorker("w-other", "ok-other.fake", 4, "some-other-model");
    const before = await env.DB.prepare("SELECT count(*) AS n FROM jobs").first<{ n: number }>();
    const res = await postJson("/v1/generate", { prompt: "nobody home", steps: 2 });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("no_workers");
    const after = await env.DB.prepare("SELECT count(*) AS n FROM jobs").first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
    // readyz agrees: the active bundle's model has no worker.
    expect((await SELF.fetch("http://edge/readyz")).status).toBe(503);
    await registerWorker("w-same", "ok-same.fake", 1);
    const ready = await SELF.fetch("http://edge/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ model_id: "tiny-sd2", workers: 1 });
  });
});

describe("admission control", () => {
  it("answers 429 with Retry-After once JOB_QUEUE_LIMIT jobs of the model are queued", async () => {
    // full.fake answers 429 with Retry-After 30: every job it is offered stays queued.
    await registerWorker("w-full", "full.fake", 1);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await postJson("/v1/generate", { prompt: `q${i}`, steps: 2 })).status);
    expect(statuses).toEqual([202, 202, 202, 202, 429]);
    const refused = await postJson("/v1/generate", { prompt: "one more", steps: 2 });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("queue_full");
  });

  it("a repeated Idempotency-Key returns the first job and runs it once", async () => {
    await registerWorker("w-ok", "ok-idem.fake");
    const send = () =>
      postJson(
        "/v1/generate?wait=20",
        { prompt: "once", steps: 2, seed: 4 },
        {
          "idempotency-key": "order-42",
        },
      );
    const first = await send();
    const second = await send();
    const a = (await first.json()) as JobResponse;
    const b = (await second.json()) as JobResponse;
    expect(a.status).toBe("succeeded");
    expect(b.job_id).toBe(a.job_id);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    expect((await generateCalls()).filter((c) => c.body?.prompt === "once")).toHaveLength(1);
  });

  it.each([["has space"], ["x".repeat(256)]])(
    "an Idempotency-Key %j that is not 1-255 visible characters is a 400 naming it",
    async (key) => {
      const res = await postJson(
        "/v1/generate",
        { prompt: "k", steps: 2 },
        { "idempotency-key": key },
      );
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { field: string } }).error.field).toBe(
        "Idempotency-Key",
      );
    },
  );
});

describe("faults are retried on another worker", () => {
  // The faulty worker advertises more spare capacity, so it is picked first.
  it.each([
    ["full (429)", "full.fake"],
    ["down (connection refused)", "down.fake"],
    ["dying mid-response", "dies.fake"],
    ["failing (500)", "error.fake"],
    ["answering 404 (finding 4)", "notfound.fake"],
    ["answering for another model (finding 5)", "wrong-model.fake"],
  ])("worker %s", async (_name, host) => {
    await registerWorker("w-faulty", host, 8);
    await registerWorker("w-good", "ok-2.fake", 1);
    const job = await generate({ prompt: `fault ${host}`, steps: 3, seed: 3 });
    expect(job).toMatchObject({ status: "succeeded", attempt: 2 });
    expect(await workerOf(job.job_id)).toBe("w-good");
    expect((await generateCalls()).map((c) => c.host)).toEqual([host, "ok-2.fake"]);
    expect(await imagesOf(job.job_id)).toEqual([`images/${job.job_id}-2.png`]);
  });

  it("a worker rejecting the request (400) fails the job without retrying", async () => {
    await registerWorker("w-picky", "bad-request.fake", 8);
    await registerWorker("w-good", "ok-2.fake", 1);
    const job = await generate({ prompt: "rejected", steps: 3 });
    expect(job.status).toBe("failed");
    // The public error names the code, not the worker's raw answer (finding 8).
    expect(job.error).toEqual({
      code: "upstream_rejected",
      message: "a GPU worker rejected the generation request",
    });
    expect((await generateCalls()).map((c) => c.host)).toEqual(["bad-request.fake"]);
  });

  it("a worker that keeps failing leaves the rotation at once; the job waits for a good one", async () => {
    await registerWorker("w-broken", "error.fake", 8);
    const stop = keepBeating([["w-broken", "error.fake", 8]]);
    try {
      const res = await postJson("/v1/generate", { prompt: "outlast", steps: 3 });
      expect(res.status).toBe(202);
      const { job_id } = (await res.json()) as { job_id: string };
      await new Promise((r) => setTimeout(r, 1500));
      // Out of the rotation after its first fault, although it still heartbeats.
      const broken = await env.DB.prepare(
        "SELECT unhealthy_until, consecutive_failures FROM workers WHERE id = 'w-broken'",
      ).first<{ unhealthy_until: number; consecutive_failures: number }>();
      expect(broken?.unhealthy_until).toBeGreaterThan(Date.now());
      expect(broken?.consecutive_failures).toBeGreaterThanOrEqual(1);
      // Five attempts used to be the end (finding 2); now the job is still waiting.
      expect((await pollJob(job_id, () => false, 10)).status).not.toBe("failed");
      await registerWorker("w-fixed", "ok-fixed.fake", 1);
      const job = await pollJob(job_id, (j) => j.status === "succeeded", 15_000);
      expect(job.status).toBe("succeeded");
      expect(await workerOf(job_id)).toBe("w-fixed");
    } finally {
      stop();
    }
  });

  it("a pool that is down for a while: the job runs when a worker comes back (finding 2)", async () => {
    await registerWorker("w-down", "down.fake", 2);
    const stop = keepBeating([["w-down", "down.fake", 2]]);
    try {
      const res = await postJson("/v1/generate", { prompt: "after the outage", steps: 2 });
      expect(res.status).toBe(202);
      const { job_id } = (await res.json()) as { job_id: string };
      await new Promise((r) => setTimeout(r, 5_000));
      expect((await pollJob(job_id, () => false, 10)).status).toBe("queued");
      await registerWorker("w-back", "ok-back.fake", 1);
      const job = await pollJob(job_id, (j) => j.status === "succeeded", 15_000);
      expect(job.status).toBe("succeeded");
    } finally {
      stop();
    }
  });

  it("busy answers (429) defer the job without failing it (finding 2)", async () => {
    await registerWorker("w-busy", "busy-1.fake", 1);
    const job = await generate({ prompt: "patience", steps: 2 }, 30);
    expect(job.status).toBe("succeeded");
    expect((await generateCalls()).map((c) => c.host)).toEqual([
      "busy-1.fake",
      "busy-1.fake",
      "busy-1.fake",
    ]);
  });

  it("fails with deadline_exceeded when no worker completes the job within deadline_s", async () => {
    await registerWorker("w-broken", "error.fake", 1);
    const stop = keepBeating([["w-broken", "error.fake", 1]]);
    const started = Date.now();
    const job = await generate({ prompt: "doomed", steps: 3, deadline_s: 10 }, 30).finally(stop);
    expect(job.status).toBe("failed");
    expect(job.error?.code).toBe("deadline_exceeded");
    expect(Date.now() - started).toBeGreaterThanOrEqual(10_000);
    expect((await generateCalls()).length).toBeGreaterThan(1);
  });
});

describe("fast recovery of running jobs (finding 3)", () => {
  it("a hung worker's job is retried elsewhere once it stops heartbeating, long before the lease", async () => {
    await registerWorker("w-hung", "hang.fake", 8);
    await registerWorker("w-good", "ok-good.fake", 1);
    const stop = keepBeating([["w-good", "ok-good.fake", 1]]);
    const started = Date.now();
    const job = await generate({ prompt: "frozen", steps: 2 }, 30).finally(stop);
    const recoveryMs = Date.now() - started;
    expect(job.status).toBe("succeeded");
    expect(await workerOf(job.job_id)).toBe("w-good");
    expect((await generateCalls()).map((c) => c.host)).toEqual(["hang.fake", "ok-good.fake"]);
    // Heartbeat TTL 3 s + one watchdog tick (1 s); the lease (JOB_ATTEMPT_TIMEOUT_S) is 5 s here
    // and 300 s by default, so recovery inside 5 s is the watchdog's doing.
    expect(recoveryMs).toBeLessThan(5_000);
    console.log(`hung-worker recovery: ${recoveryMs} ms`);
  });

  it("a job the worker silently dropped (its heartbeats go on without it) is retried long before the lease", async () => {
    // hang.fake takes the job and never answers; its heartbeats report that it holds nothing.
    await registerWorker("w-drops", "hang.fake", 8);
    await registerWorker("w-good", "ok-good.fake", 1);
    const stop = keepBeating(
      [
        ["w-drops", "hang.fake", 8],
        ["w-good", "ok-good.fake", 1],
      ],
      () => [],
    );
    const job = await generate({ prompt: "dropped", steps: 2 }, 30).finally(stop);
    expect(job).toMatchObject({ status: "succeeded", attempt: 2 });
    expect(await workerOf(job.job_id)).toBe("w-good");
    const [dropped, retried] = await generateCalls();
    expect([dropped.host, retried.host]).toEqual(["hang.fake", "ok-good.fake"]);
    // One heartbeat interval of grace (1 s) + the next heartbeat and watchdog tick: well inside
    // the 5 s attempt lease, which is what would recover it otherwise.
    const recoveryMs = retried.at - dropped.at;
    console.log(`dropped-job recovery: ${recoveryMs} ms`);
    expect(recoveryMs).toBeGreaterThanOrEqual(1_000);
    expect(recoveryMs).toBeLessThan(4_500);
    // The dropped attempt can never complete the job a second time.
    const late = { imageKey: "images/late.png", timings: {}, now: Date.now() };
    expect(await completeJob(d1Database(env.DB), job.job_id, 1, late)).toBe(false);
  });

  it("a job the worker keeps reporting is left to run past the grace, and completes once", async () => {
    await registerWorker("w-steps", "steps-kept.fake", 1);
    let held: string[] = [];
    const stop = keepBeating([["w-steps", "steps-kept.fake", 1]], () => held);
    try {
      const res = await postJson("/v1/generate", { prompt: "kept", steps: 4 });
      const { job_id } = (await res.json()) as { job_id: string };
      held = [job_id];
      expect((await pollJob(job_id, (j) => j.status === "running", 5_000)).status).toBe("running");
      // Three heartbeat intervals: past the grace, and the watchdog has ticked meanwhile.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(await getJob(d1Database(env.DB), job_id)).toMatchObject({
        status: "running",
        attempt: 1,
      });
      await fetch(`http://control.fake/runs/${job_id}`, {
        method: "POST",
        body: JSON.stringify({ finish: true }),
      });
      const job = await pollJob(job_id, (j) => j.status === "succeeded");
      expect(job).toMatchObject({ status: "succeeded", attempt: 1 });
      expect((await generateCalls()).map((c) => c.host)).toEqual(["steps-kept.fake"]);
    } finally {
      stop();
    }
  });

  it("an attempt started by a previous dispatcher instance (edge restart) is re-queued at once", async () => {
    await registerWorker("w-rescue", "ok-restart.fake");
    const db = d1Database(env.DB);
    const id = crypto.randomUUID();
    const request = { prompt: "restarted", steps: 2, seed: 6, deadline_s: 3600 };
    await insertJob(db, {
      id,
      status: "running",
      attempt: 1,
      request: JSON.stringify(request),
      steps: 2,
      stepsSource: "fixed",
      seed: 6,
      workerId: "w-rescue",
      // Started before this test file's dispatcher instance existed.
      createdAt: Date.now() - 600_000,
      startedAt: Date.now() - 600_000,
      // The lease is far away: only the restart detection can recover it now.
      leaseUntil: Date.now() + 3_600_000,
      // A shard whose dispatcher this test file has not started yet.
      dispatchShard: "*/2",
    });
    const stub = dispatcherOf(env, "*/2");
    await stub.wake("*/2");
    await runDurableObjectAlarm(stub);
    const job = await pollJob(id, (j) => j.status === "succeeded");
    expect(job).toMatchObject({ status: "succeeded", attempt: 2 });
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
    expect(
      await workerOf((await generate({ prompt: "skip the stale one", steps: 2 })).job_id),
    ).toBe("w-live");

    const hb = await postJson(
      "/v1/workers/w-stale/heartbeat",
      registration("w-stale", "ok-stale.fake", 8),
      WORKER,
    );
    expect(hb.status).toBe(200);
    expect(await hb.json()).toEqual({ heartbeat_interval_s: 1 });
    expect(await workerOf((await generate({ prompt: "stale is back", steps: 2 })).job_id)).toBe(
      "w-stale",
    );
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

describe("worker identity (finding 5)", () => {
  const register = (id: string, url: string) =>
    postJson("/v1/workers/register", { ...registration(id, "x.fake"), url }, WORKER);

  it("refuses a url outside WORKER_URL_PATTERNS, naming it", async () => {
    const res = await register("w-evil", "http://attacker.example");
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe("url");
  });

  it("does not let a live worker_id move to another url, by registration or heartbeat", async () => {
    await registerWorker("w-a", "ok-a.fake");
    const moved = await register("w-a", "http://ok-b.fake");
    expect(moved.status).toBe(409);
    expect(((await moved.json()) as { error: { field: string } }).error.field).toBe("worker_id");
    const hb = await postJson(
      "/v1/workers/w-a/heartbeat",
      registration("w-a", "ok-b.fake"),
      WORKER,
    );
    expect(hb.status).toBe(409);
    // Once silent (a restarted host), the id may come back at a new url.
    await env.DB.prepare("UPDATE workers SET last_heartbeat_at = ? WHERE id = 'w-a'")
      .bind(Date.now() - 60_000)
      .run();
    expect((await register("w-a", "http://ok-b.fake")).status).toBe(200);
  });

  it("deregisters, and its running job is retried on another worker", async () => {
    await registerWorker("w-leaving", "hang.fake", 8);
    await registerWorker("w-staying", "ok-staying.fake", 1);
    const stop = keepBeating([
      ["w-leaving", "hang.fake", 8],
      ["w-staying", "ok-staying.fake", 1],
    ]);
    try {
      const res = await postJson("/v1/generate", { prompt: "leaving", steps: 2 });
      const { job_id } = (await res.json()) as { job_id: string };
      await pollJob(job_id, (j) => j.status === "running", 5_000);
      const del = await SELF.fetch("http://edge/v1/workers/w-leaving", {
        method: "DELETE",
        headers: WORKER,
      });
      expect(del.status).toBe(204);
      const job = await pollJob(job_id, (j) => j.status === "succeeded", 10_000);
      expect(job.status).toBe("succeeded");
      expect(await workerOf(job_id)).toBe("w-staying");
    } finally {
      stop();
    }
    const again = await SELF.fetch("http://edge/v1/workers/w-leaving", {
      method: "DELETE",
      headers: WORKER,
    });
    expect(again.status).toBe(404);
  });

  it("deletes records silent for WORKER_RECORD_TTL_S when a worker registers", async () => {
    await registerWorker("w-ancient", "ok-ancient.fake");
    await env.DB.prepare("UPDATE workers SET last_heartbeat_at = ? WHERE id = 'w-ancient'")
      .bind(Date.now() - 2 * 3600_000)
      .run();
    await registerWorker("w-new", "ok-new.fake");
    const ids = await env.DB.prepare("SELECT id FROM workers ORDER BY id").all<{ id: string }>();
    expect(ids.results.map((r) => r.id)).toEqual(["w-new"]);
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
      dispatchShard: "*/1",
    });
    const stub = dispatcherOf(env, "*/1");
    await stub.wake("*/1");
    await runDurableObjectAlarm(stub);
    const job = await pollJob(id, (j) => j.status === "succeeded");
    expect(job).toMatchObject({ status: "succeeded", attempt: 2 });
    expect(await workerOf(id)).toBe("w-rescue");
    // The presumed-dead first attempt answers late: it must not complete the job again.
    expect(
      await completeJob(db, id, 1, { imageKey: "images/late.png", timings: {}, now: Date.now() }),
    ).toBe(false);
    expect((await getJob(db, id))?.imageKey).toBe(`images/${id}-2.png`);
    expect((await generateCalls()).filter((c) => c.body?.prompt === "orphan")).toHaveLength(1);
  });
});
