/**
 * A job's life as the edge shows it (issue 13), against the steps-*.fake worker of
 * fake-gpu-workers.ts, whose generations stand at whatever step the test sets: live progress on
 * GET /v1/jobs/:id, the server-sent-events stream, DELETE of queued, running and finished jobs
 * (the worker told; 409 naming the state), per-key scoping, and the edge's signed webhooks
 * (the signature recomputed here by hand, as edge/README.md tells a receiver to; a failed
 * delivery retried on the shared back-off schedule).
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { d1Database } from "@budgetfusion/edge/db/client";
import { insertJob } from "@budgetfusion/edge/db/queries/jobs";
import { insertDelivery, pruneDeliveries } from "@budgetfusion/edge/db/queries/webhook-deliveries";
import { getWorker } from "@budgetfusion/edge/db/queries/workers";
import { dispatcherOf } from "@budgetfusion/edge/dispatch/dispatcher";
import edge from "@budgetfusion/edge/index";
import type { JobResponse } from "@budgetfusion/shared/schemas/edge-api";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  bearer,
  type Call,
  clearFakeCalls,
  clearWorkers,
  createKey,
  type ErrorJson,
  fakeCalls,
  postJson,
  registerWorker,
  registration,
  WORKER,
} from "./helpers";

const HOST = "steps-a.fake";
const WORKER_ID = "steps-a";
const STEPS = 12;
/** The fake's per-step time (fake-gpu-workers.ts FAKE_STEP_MS): its ETA is the steps left x 40 ms. */
const FAKE_STEP_MS = 40;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(v)}`);
    await sleep(50);
  }
}

/** Jobs this file created: canceled after each test so none holds the queue (JOB_QUEUE_LIMIT 4). */
const created: { id: string; headers: Record<string, string> }[] = [];

async function submit(body: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const res = await postJson(
    "/v1/generate",
    { prompt: "a lighthouse", steps: STEPS, ...body },
    headers,
  );
  expect(res.status, await res.clone().text()).toBe(202);
  const { job_id } = (await res.json()) as { job_id: string };
  created.push({ id: job_id, headers });
  return job_id;
}

const readJob = async (id: string, headers: Record<string, string> = {}) =>
  (await (await SELF.fetch(`http://edge/v1/jobs/${id}`, { headers })).json()) as JobResponse;

const cancelJob = (id: string, headers: Record<string, string> = {}) =>
  SELF.fetch(`http://edge/v1/jobs/${id}`, { method: "DELETE", headers });

/** The fake worker's own view of a generation; undefined until its POST has arrived. */
async function run(id: string): Promise<{ state: string; step: number } | undefined> {
  const res = await fetch(`http://control.fake/runs/${id}`);
  return res.ok ? ((await res.json()) as { state: string; step: number }) : undefined;
}

const arrived = (id: string) =>
  until(
    () => run(id),
    (r) => r !== undefined,
  );

async function moveRun(id: string, move: { step?: number; finish?: boolean }) {
  const res = await fetch(`http://control.fake/runs/${id}`, {
    method: "POST",
    body: JSON.stringify(move),
  });
  expect(res.status).toBe(200);
}

const finished = (id: string) =>
  until(
    () => readJob(id),
    (j) => j.status !== "queued" && j.status !== "running",
  );

let stopBeating: () => void = () => {};

async function useWorker(capacity: number) {
  await registerWorker(WORKER_ID, HOST, capacity);
  // Fake workers do not heartbeat by themselves (the TTL is 3 s).
  const timer = setInterval(() => {
    void postJson(
      `/v1/workers/${WORKER_ID}/heartbeat`,
      registration(WORKER_ID, HOST, capacity),
      WORKER,
    );
  }, 500);
  stopBeating = () => clearInterval(timer);
}

beforeEach(async () => {
  await clearWorkers();
  await clearFakeCalls();
});

afterEach(async () => {
  for (const { id, headers } of created.splice(0)) {
    await cancelJob(id, headers);
    if ((await run(id))?.state === "running") await moveRun(id, { finish: true });
  }
  stopBeating();
});

describe("progress", () => {
  it("GET /v1/jobs/:id shows the worker's step and ETA while the job runs, the end after", async () => {
    await useWorker(1);
    const id = await submit();
    await arrived(id);
    const atStart = await readJob(id);
    expect(atStart.status).toBe("running");
    expect(atStart.progress).toMatchObject({ step: 0, steps: STEPS, eta_ms: STEPS * FAKE_STEP_MS });
    await moveRun(id, { step: 5 });
    const later = await readJob(id);
    expect(later.progress).toMatchObject({ step: 5, steps: STEPS });
    expect(later.progress?.eta_ms).toBe((STEPS - 5) * FAKE_STEP_MS);
    // elapsed_ms counts from acceptance and grows.
    expect(later.progress?.elapsed_ms).toBeGreaterThanOrEqual(atStart.progress?.elapsed_ms ?? 0);
    await moveRun(id, { finish: true });
    const done = await finished(id);
    expect(done.status).toBe("succeeded");
    expect(done.progress).toBeUndefined();
    expect(done.image_url).toBe(`/v1/images/${id}`);
  });

  it("a queued job is at step 0 with no ETA yet", async () => {
    await useWorker(1);
    const first = await submit();
    await arrived(first);
    const second = await submit();
    const queued = await readJob(second);
    expect(queued.status).toBe("queued");
    expect(queued.progress).toMatchObject({ step: 0, steps: STEPS, eta_ms: null });
  });

  it("GET /v1/jobs/:id/events streams progress, then the end, then closes", async () => {
    await useWorker(1);
    const id = await submit();
    await arrived(id);
    const res = await SELF.fetch(`http://edge/v1/jobs/${id}/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = (res.body as ReadableStream<Uint8Array>)
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream())
      .getReader();
    const next = async () => {
      const r = await events.read();
      return r.done
        ? undefined
        : { event: r.value.event, job: JSON.parse(r.value.data) as JobResponse };
    };
    const first = await next();
    expect(first).toMatchObject({
      event: "progress",
      job: { status: "running", progress: { step: 0 } },
    });
    await moveRun(id, { step: 4 });
    const moved = await next();
    expect(moved).toMatchObject({
      event: "progress",
      job: { progress: { step: 4, steps: STEPS } },
    });
    await moveRun(id, { finish: true });
    const rest: NonNullable<Awaited<ReturnType<typeof next>>>[] = [];
    for (let e = await next(); e !== undefined; e = await next()) rest.push(e);
    // Progress events (the worker may already say step 12 before the edge has the image) ...
    for (const e of rest.slice(0, -1)) {
      expect(e.event).toBe("progress");
      expect(e.job.progress?.step).toBeGreaterThan(4);
    }
    // ... then exactly one terminal event, and the stream ended after it.
    expect(rest.at(-1)).toMatchObject({
      event: "done",
      job: { job_id: id, status: "succeeded", image_url: `/v1/images/${id}` },
    });
  });

  it("a stream ends with a timeout event once its job is past its deadline and one attempt", async () => {
    // A job the dispatcher cannot end for now (a live lease, no attempt of its own), accepted
    // longer ago than JOB_DEADLINE_S (600) + JOB_ATTEMPT_TIMEOUT_S (5): the stream must not wait on.
    const id = crypto.randomUUID();
    const now = Date.now();
    await insertJob(d1Database(env.DB), {
      id,
      status: "running",
      attempt: 1,
      request: JSON.stringify({ prompt: "stuck", steps: STEPS, seed: 1 }),
      steps: STEPS,
      stepsSource: "fixed",
      seed: 1,
      createdAt: now - 606_000,
      startedAt: now,
      leaseUntil: now + 60_000,
    });
    try {
      const res = await SELF.fetch(`http://edge/v1/jobs/${id}/events`);
      const text = await res.text();
      expect(text).toMatch(/^event: timeout$/m);
      expect(text).not.toMatch(/^event: done$/m);
    } finally {
      await env.DB.prepare("UPDATE jobs SET status = 'failed' WHERE id = ?").bind(id).run();
    }
  });

  it("an unknown job's events are a 404", async () => {
    const res = await SELF.fetch(`http://edge/v1/jobs/${crypto.randomUUID()}/events`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorJson).error.field).toBe("id");
  });
});

const generateCalls = async (id: string) =>
  (await fakeCalls()).filter((c) => c.path === "/v1/generate" && c.body?.job_id === id);

describe("DELETE /v1/jobs/:id", () => {
  it("cancels a queued job at once; the worker never gets it", async () => {
    await useWorker(1);
    const running = await submit();
    await arrived(running);
    const queued = await submit();
    const res = await cancelJob(queued);
    expect(res.status).toBe(200);
    expect(((await res.json()) as JobResponse).status).toBe("canceled");
    expect((await readJob(queued)).status).toBe("canceled");
    // The worker frees up; the canceled job is not dispatched to it.
    await moveRun(running, { finish: true });
    expect((await finished(running)).status).toBe("succeeded");
    await sleep(300);
    expect(await generateCalls(queued)).toEqual([]);
    expect((await readJob(queued)).status).toBe("canceled");
  });

  it("cancels a running job on its worker; it ends canceled and the worker is not blamed", async () => {
    await useWorker(1);
    const id = await submit();
    await arrived(id);
    await moveRun(id, { step: 3 });
    const res = await cancelJob(id);
    expect(res.status).toBe(200);
    const body = (await res.json()) as JobResponse;
    expect(body.status).toBe("canceled");
    expect(body.progress).toBeUndefined();
    // The worker was told, by its own cancel endpoint, and stopped the generation.
    const told = (await fakeCalls()).filter(
      (c: Call) => c.host === HOST && c.method === "DELETE" && c.path === `/v1/jobs/${id}`,
    );
    expect(told).toHaveLength(1);
    expect(told[0].headers.authorization).toBe("Bearer test-worker-token");
    expect((await run(id))?.state).toBe("canceled");
    await sleep(300);
    expect((await readJob(id)).status).toBe("canceled");
    // Its 499 is no worker fault: the worker stays in the rotation and runs the next job.
    expect((await getWorker(d1Database(env.DB), WORKER_ID))?.consecutiveFailures).toBe(0);
    const next = await submit();
    await arrived(next);
    await moveRun(next, { finish: true });
    expect((await finished(next)).status).toBe("succeeded");
  });

  it("answers 409 naming the state for a finished job, 404 for an unknown one", async () => {
    await useWorker(1);
    const id = await submit();
    await arrived(id);
    await moveRun(id, { finish: true });
    await finished(id);
    const res = await cancelJob(id);
    expect(res.status).toBe(409);
    const err = (await res.json()) as ErrorJson & { error: { details: { status: string } } };
    expect(err.error).toMatchObject({
      code: "conflict",
      field: "id",
      details: { status: "succeeded" },
    });
    expect(err.error.message).toMatch(/succeeded/);
    expect((await readJob(id)).status).toBe("succeeded");
    const unknown = await cancelJob(crypto.randomUUID());
    expect(unknown.status).toBe(404);
  });

  it("a second DELETE of a canceled job is a 409 saying so", async () => {
    await useWorker(1);
    const id = await submit();
    expect((await cancelJob(id)).status).toBe(200);
    const again = await cancelJob(id);
    expect(again.status).toBe(409);
    expect(
      ((await again.json()) as ErrorJson & { error: { details: unknown } }).error.details,
    ).toEqual({ status: "canceled" });
  });

  it("a key cancels only its own jobs; the cancel frees its slot and is counted", async () => {
    await useWorker(2);
    const owner = await createKey({ name: "lifecycle-owner", plan: "pro", concurrent_jobs: 1 });
    const other = await createKey({ name: "lifecycle-other", plan: "pro" });
    const id = await submit({}, bearer(owner));
    await arrived(id);
    // Its one slot is taken while the job runs.
    const full = await postJson("/v1/generate", { prompt: "b", steps: STEPS }, bearer(owner));
    expect(full.status).toBe(429);
    const foreign = await cancelJob(id, bearer(other));
    expect(foreign.status).toBe(404);
    expect((await readJob(id, bearer(other))).job_id).toBeUndefined();
    expect((await run(id))?.state).toBe("running");
    expect((await cancelJob(id, bearer(owner))).status).toBe(200);
    const usage = (await (
      await SELF.fetch("http://edge/v1/usage", { headers: bearer(owner) })
    ).json()) as { totals: { jobs: number; jobs_canceled: number; jobs_succeeded: number } };
    expect(usage.totals).toMatchObject({ jobs: 1, jobs_canceled: 1, jobs_succeeded: 0 });
    // The slot is free again.
    await submit({}, bearer(owner));
  });
});

/** Standard Webhooks verification by hand (edge/README.md, "Webhooks"). */
async function signatureValid(call: Call, secret: string): Promise<boolean> {
  const id = call.headers["webhook-id"];
  const timestamp = call.headers["webhook-timestamp"];
  const key = Uint8Array.from(atob(secret.slice("whsec_".length)), (ch) => ch.charCodeAt(0));
  const hmac = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(
    await crypto.subtle.sign(
      "HMAC",
      hmac,
      new TextEncoder().encode(`${id}.${timestamp}.${call.text}`),
    ),
  );
  const expected = `v1,${btoa(String.fromCharCode(...mac))}`;
  return call.headers["webhook-signature"].split(" ").includes(expected);
}

const hooksAt = async (host: string, path: string) =>
  (await fakeCalls()).filter((c) => c.host === host && c.path === path && c.method === "POST");

describe("webhooks", () => {
  it("POSTs job.started and job.completed, signed over id.timestamp.body with the deployment's secret", async () => {
    await useWorker(1);
    const path = `/hook/${crypto.randomUUID()}`;
    const id = await submit({ webhook_url: `http://hooks.fake${path}` });
    await arrived(id);
    const [started] = await until(
      () => hooksAt("hooks.fake", path),
      (c) => c.length >= 1,
    );
    await moveRun(id, { finish: true });
    const both = await until(
      () => hooksAt("hooks.fake", path),
      (c) => c.length >= 2,
    );
    const [, completed] = both;
    for (const call of both) {
      expect(await signatureValid(call, env.WEBHOOK_SECRET)).toBe(true);
      // The timestamp is now (receivers refuse one more than 5 minutes away: replay).
      expect(Math.abs(Number(call.headers["webhook-timestamp"]) * 1000 - call.at)).toBeLessThan(
        5_000,
      );
      expect(call.headers["content-type"]).toBe("application/json");
    }
    expect(started.body).toMatchObject({
      type: "job.started",
      data: { job_id: id, status: "running" },
    });
    expect(completed.body).toMatchObject({
      type: "job.completed",
      data: { job_id: id, status: "succeeded", image_url: `/v1/images/${id}` },
    });
    expect(started.headers["webhook-id"]).not.toBe(completed.headers["webhook-id"]);
    // The edge sends them; the worker is not asked to send its own as well.
    const [dispatched] = await generateCalls(id);
    expect(dispatched.body).not.toHaveProperty("webhook_url");
    expect(dispatched.body).not.toHaveProperty("webhook_events");
    // A changed body or another secret fails the same check.
    expect(
      await signatureValid(
        { ...completed, text: completed.text.replace("succeeded", "failed") },
        env.WEBHOOK_SECRET,
      ),
    ).toBe(false);
    expect(
      await signatureValid(completed, "whsec_b3RoZXItc2VjcmV0LW9mLTMyLWJ5dGVzLWxvbmctLS0="),
    ).toBe(false);
  });

  it("retries a failed delivery after the shared schedule's first wait, under the same id", async () => {
    await useWorker(1);
    const path = `/hook/${crypto.randomUUID()}`;
    const id = await submit({
      webhook_url: `http://flaky-hooks.fake${path}`,
      webhook_events: ["job.completed"],
    });
    await arrived(id);
    await moveRun(id, { finish: true });
    const [failed, retried] = await until(
      () => hooksAt("flaky-hooks.fake", path),
      (c) => c.length >= 2,
    );
    // flaky-hooks.fake answered the first POST 503 and the second 204: no third.
    await sleep(1_500);
    expect(await hooksAt("flaky-hooks.fake", path)).toHaveLength(2);
    expect(failed.body).toMatchObject({ type: "job.completed", data: { job_id: id } });
    expect(retried.headers["webhook-id"]).toBe(failed.headers["webhook-id"]);
    expect(await signatureValid(retried, env.WEBHOOK_SECRET)).toBe(true);
    // The first retry waits backoffDelayMs({baseMs: 1000}, 1): 1 s, with equal jitter [0.5, 1) s.
    expect(retried.at - failed.at).toBeGreaterThanOrEqual(500);
    expect(retried.at - failed.at).toBeLessThan(1_000 + 500);
    // Its row in D1 says so: two attempts, the last a 204, nothing more due.
    const row = await env.DB.prepare("SELECT * FROM webhook_deliveries WHERE id = ?")
      .bind(`msg_${id}_job.completed`)
      .first<{
        attempts: number;
        last_status: number;
        next_attempt_at: number | null;
        delivered_at: number | null;
      }>();
    expect(row).toMatchObject({ attempts: 2, last_status: 204, next_attempt_at: null });
    expect(row?.delivered_at).not.toBeNull();
  });

  it("a delivery a previous dispatcher left due is sent by the alarm (deliveries live in D1)", async () => {
    const path = `/hook/${crypto.randomUUID()}`;
    const jobId = crypto.randomUUID();
    const now = Date.now();
    const data = { job_id: jobId, status: "succeeded" };
    await env.DB.prepare(
      "INSERT INTO webhook_deliveries (id, job_id, url, type, data, attempts, next_attempt_at, last_status, created_at) VALUES (?, ?, ?, ?, ?, 1, ?, 503, ?)",
    )
      .bind(
        `msg_${jobId}_job.completed`,
        jobId,
        `http://hooks.fake${path}`,
        "job.completed",
        JSON.stringify(data),
        now,
        now - 1_000,
      )
      .run();
    // Its job ended long ago; the job's dispatcher shard owns the retry.
    await env.DB.prepare(
      "INSERT INTO jobs (id, status, request, steps, steps_source, seed, created_at, dispatch_shard) VALUES (?, 'succeeded', '{}', 2, 'fixed', 1, ?, '*/1')",
    )
      .bind(jobId, now - 60_000)
      .run();
    // Any wake-up lets the shard's dispatcher see the due row and set its alarm for it.
    await dispatcherOf(env, "*/1").wake("*/1");
    const [sent] = await until(
      () => hooksAt("hooks.fake", path),
      (c) => c.length >= 1,
    );
    expect(sent.headers["webhook-id"]).toBe(`msg_${jobId}_job.completed`);
    expect(sent.body).toMatchObject({ type: "job.completed", data });
    expect(await signatureValid(sent, env.WEBHOOK_SECRET)).toBe(true);
    const row = await until(
      () =>
        env.DB.prepare("SELECT attempts, delivered_at FROM webhook_deliveries WHERE id = ?")
          .bind(`msg_${jobId}_job.completed`)
          .first<{ attempts: number; delivered_at: number | null }>(),
      (r) => r?.delivered_at !== null,
    );
    expect(row?.attempts).toBe(2);
  });

  it("a canceled job's completion is announced as canceled; only the events asked for are sent", async () => {
    await useWorker(1);
    const path = `/hook/${crypto.randomUUID()}`;
    const id = await submit({
      webhook_url: `http://hooks.fake${path}`,
      webhook_events: ["job.completed"],
    });
    await arrived(id);
    expect((await cancelJob(id)).status).toBe(200);
    const [completed] = await until(
      () => hooksAt("hooks.fake", path),
      (c) => c.length >= 1,
    );
    expect(completed.body).toMatchObject({
      type: "job.completed",
      data: { job_id: id, status: "canceled" },
    });
    await sleep(300);
    expect(await hooksAt("hooks.fake", path)).toHaveLength(1);
  });

  it("ended deliveries are dropped once old; pending ones and recent ones are kept", async () => {
    const db = d1Database(env.DB);
    const now = Date.now();
    const row = (name: string, createdAt: number, nextAttemptAt: number | null) => ({
      id: `msg_prune-${name}-${crypto.randomUUID()}`,
      jobId: "prune",
      url: "http://hooks.fake/prune",
      type: "job.completed",
      data: "{}",
      nextAttemptAt,
      createdAt,
    });
    const week = 7 * 86_400_000;
    const oldEnded = row("old-ended", now - week - 1, null);
    const oldPending = row("old-pending", now - week - 1, now + 3_600_000);
    const recentEnded = row("recent-ended", now - week + 60_000, null);
    for (const r of [oldEnded, oldPending, recentEnded]) await insertDelivery(db, r);
    expect(await pruneDeliveries(db, now - week)).toBeGreaterThanOrEqual(1);
    const left = await env.DB.prepare(
      "SELECT id FROM webhook_deliveries WHERE job_id = 'prune'",
    ).all<{
      id: string;
    }>();
    const ids = left.results.map((r) => r.id);
    expect(ids).not.toContain(oldEnded.id);
    expect(ids).toContain(oldPending.id);
    expect(ids).toContain(recentEnded.id);
    await env.DB.prepare("DELETE FROM webhook_deliveries WHERE job_id = 'prune'").run();
  });

  it("refuses webhook_url where the deployment has no WEBHOOK_SECRET to sign with", async () => {
    await useWorker(1);
    const ctx = createExecutionContext();
    const res = await edge.fetch(
      new Request("http://edge/v1/generate", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          prompt: "a lighthouse",
          steps: STEPS,
          webhook_url: "http://hooks.fake/x",
        }),
      }),
      { ...env, WEBHOOK_SECRET: "" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorJson;
    expect(error.field).toBe("webhook_url");
    expect(error.message).toMatch(/WEBHOOK_SECRET/);
  });

  it("refuses a webhook_url that is not http(s), and unknown events, naming the field", async () => {
    await useWorker(1);
    for (const [body, field] of [
      [{ webhook_url: "ftp://hooks.fake/x" }, "webhook_url"],
      [{ webhook_url: "not a url" }, "webhook_url"],
      [
        { webhook_url: "http://hooks.fake/x", webhook_events: ["job.exploded"] },
        "webhook_events.0",
      ],
      [{ webhook_url: "http://hooks.fake/x", webhook_events: [] }, "webhook_events"],
    ] as const) {
      const res = await postJson("/v1/generate", { prompt: "a lighthouse", steps: STEPS, ...body });
      expect(res.status).toBe(400);
      expect(((await res.json()) as ErrorJson).error.field).toBe(field);
    }
  });
});
