/**
 * The worker's job API over the real continuous-batching engine on the mini world: progress
 * (GET /v1/jobs/:id and its server-sent events) with steps, elapsed time and a measured ETA;
 * DELETE /v1/jobs/:id stopping a running job at a step boundary and dropping a queued one, the
 * slot going to the next job; signed webhooks on start and completion, a failed delivery retried.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createApp, type WorkerState } from "@budgetfusion/gpu-worker/app";
import { JobRegistry } from "@budgetfusion/gpu-worker/jobs/job-registry";
import { WebhookSender } from "@budgetfusion/gpu-worker/jobs/webhook-sender";
import { createMetrics, recordUnetCall } from "@budgetfusion/gpu-worker/metrics";
import { JobQueue } from "@budgetfusion/gpu-worker/queue/job-queue";
import { BatchEngine } from "@budgetfusion/inference/batching/batch-engine";
import { loadModelDir } from "@budgetfusion/inference/pipeline/model-dir";
import { SdPipeline } from "@budgetfusion/inference/pipeline/sd-pipeline";
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { type JobProgress, jobProgressSchema } from "@budgetfusion/shared/schemas/worker-api";
import { DEFAULT_MODELS_ROOT, ensureWorldModels } from "@budgetfusion/world/build";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "./worker-fakes";

const SECRET = `whsec_${Buffer.alloc(32, 3).toString("base64")}`;
const base = { guidance_scale: 1, width: 128, height: 128 };

let pipeline: SdPipeline;

beforeAll(async () => {
  ensureWorldModels(DEFAULT_MODELS_ROOT, "v1");
  pipeline = await SdPipeline.load(
    createNodeOrt(1),
    await loadModelDir(`${DEFAULT_MODELS_ROOT}/mini-world`),
  );
});
afterAll(() => pipeline?.dispose());

function worker(opts: { concurrency?: number; webhooks?: WebhookSender } = {}) {
  const queue = new JobQueue({ concurrency: opts.concurrency ?? 4, queueLimit: 8 });
  const metrics = createMetrics(queue);
  const engine = new BatchEngine(pipeline, {
    limits: { maxSamples: 8, maxPixels: 8 * 128 * 128 },
    onCall: (call) => recordUnetCall(metrics, call),
  });
  const jobs = new JobRegistry();
  const state: WorkerState = { generator: engine, embedConfigured: false };
  const app = createApp({
    state,
    queue,
    jobs,
    webhooks: opts.webhooks,
    metrics,
    requestTimeoutMs: 60_000,
    log: () => {},
  });
  const post = (body: Record<string, unknown>) =>
    app.request("/v1/generate", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ ...base, ...body }),
    });
  const progress = async (id: string) =>
    jobProgressSchema.parse(await (await app.request(`/v1/jobs/${id}`)).json());
  return { app, jobs, post, progress };
}

/** Parses a whole text/event-stream body into its events. */
async function readEvents(res: Response): Promise<{ event: string; data: JobProgress }[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.includes("data:"))
    .map((block) => {
      const field = (name: string) =>
        block
          .split("\n")
          .find((l) => l.startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim() ?? "";
      return { event: field("event"), data: jobProgressSchema.parse(JSON.parse(field("data"))) };
    });
}

describe("progress", () => {
  it("streams every step with a measured ETA, then the final state", async () => {
    const w = worker();
    const answer = w.post({ prompt: "a detailed forest with leaves", steps: 40, job_id: "p-1" });
    await until(() => w.jobs.get("p-1") !== undefined);
    const res = await w.app.request("/v1/jobs/p-1/events");
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const events = await readEvents(res);
    const generated = await answer;
    expect(generated.status).toBe(200);
    expect(generated.headers.get("x-bf-job-id")).toBe("p-1");

    const last = events[events.length - 1];
    expect(last.event).toBe("done");
    expect(last.data).toMatchObject({ state: "succeeded", step: 40, steps: 40, eta_ms: 0 });
    const running = events.filter((e) => e.data.state === "running");
    expect(running.length).toBeGreaterThan(10);
    for (let i = 1; i < events.length; i++) {
      expect(events[i].data.step).toBeGreaterThanOrEqual(events[i - 1].data.step);
      expect(events[i].data.elapsed_ms).toBeGreaterThanOrEqual(events[i - 1].data.elapsed_ms);
    }
    // Once a step was timed, the ETA is the remaining steps at that step time: it shrinks.
    const timed = running.filter((e) => e.data.step > 0);
    const first = timed[0].data;
    const late = timed[timed.length - 1].data;
    expect(first.eta_ms).toBeGreaterThan(0);
    expect(late.eta_ms as number).toBeLessThan(first.eta_ms as number);
    expect(first.batch_size).toBe(1);

    // A finished job still answers how it ended.
    expect(await w.progress("p-1")).toMatchObject({ state: "succeeded", step: 40 });
  });

  it("reports queued, then running, on GET; 404 names the id for an unknown job", async () => {
    const w = worker({ concurrency: 1 });
    const a = w.post({ prompt: "a plain white wall", steps: 120, job_id: "g-1" });
    const b = w.post({ prompt: "a red ball", steps: 5, job_id: "g-2" });
    await until(() => w.jobs.get("g-1")?.started === true);
    const queued = await w.progress("g-2");
    expect(queued).toMatchObject({ state: "queued", step: 0, eta_ms: null, batch_size: 0 });
    const mid = await w.progress("g-1");
    expect(mid.state).toBe("running");
    expect(mid.steps).toBe(120);
    expect((await a).status).toBe(200);
    expect((await b).status).toBe(200);
    // Every UNet call was one row here (one job at a time): 125 calls of batch size 1.
    const metrics = await (await w.app.request("/metrics")).text();
    expect(metrics).toContain("bf_worker_batch_size_count 125");
    expect(metrics).toContain('bf_worker_step_seconds_count{batch_size="1"} 125');
    const missing = await w.app.request("/v1/jobs/nope");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { field: string } }).error.field).toBe("id");
  });
});

describe("DELETE /v1/jobs/:id", () => {
  it("stops a running job at a step boundary; its slot goes to the next job", async () => {
    const w = worker({ concurrency: 1 });
    const running = w.post({ prompt: "a detailed forest", steps: 200, job_id: "c-1" });
    const next = w.post({ prompt: "a red ball", steps: 4, job_id: "c-2" });
    await until(() => (w.jobs.get("c-1")?.progress().step ?? 0) >= 3);
    const del = await w.app.request("/v1/jobs/c-1", { method: "DELETE" });
    expect(del.status).toBe(202);
    expect(await del.json()).toMatchObject({ job_id: "c-1", canceled: true });
    const answer = await running;
    expect(answer.status).toBe(499);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe("cancelled");
    const ended = await w.progress("c-1");
    expect(ended).toMatchObject({ state: "canceled", error: { code: "cancelled" } });
    expect(ended.step).toBeLessThan(200);
    // The queued job got the freed slot and finished.
    expect((await next).status).toBe(200);
    expect(await w.progress("c-2")).toMatchObject({ state: "succeeded", step: 4 });
    // Canceling a finished job changes nothing.
    const again = await w.app.request("/v1/jobs/c-2", { method: "DELETE" });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ state: "succeeded", canceled: false });
  });

  it("drops a queued job before it runs a step", async () => {
    const w = worker({ concurrency: 1 });
    const first = w.post({ prompt: "a plain white wall", steps: 60, job_id: "q-1" });
    const queued = w.post({ prompt: "a red ball", steps: 30, job_id: "q-2" });
    await until(() => w.jobs.get("q-1")?.started === true && w.jobs.get("q-2") !== undefined);
    expect((await w.app.request("/v1/jobs/q-2", { method: "DELETE" })).status).toBe(202);
    expect((await queued).status).toBe(499);
    expect(await w.progress("q-2")).toMatchObject({ state: "canceled", step: 0 });
    expect((await first).status).toBe(200);
  });
});

describe("webhooks", () => {
  let server: Server;
  let url: string;
  const received: { headers: Record<string, string>; body: string }[] = [];
  /** The first delivery of job.completed fails, so the sender must retry it. */
  let failCompletedOnce = true;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => {
        body += d;
      });
      req.on("end", () => {
        received.push({ headers: req.headers as Record<string, string>, body });
        const completed = body.includes('"job.completed"');
        if (completed && failCompletedOnce) {
          failCompletedOnce = false;
          res.writeHead(503).end();
          return;
        }
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it("POSTs signed job.started and job.completed, retrying a failed delivery", async () => {
    const outcomes: { event: string; delivered: boolean; attempts: number }[] = [];
    const sender = new WebhookSender(SECRET, {
      firstDelayMs: 20,
      onDelivery: (event, _url, r) => outcomes.push({ event, ...r }),
    });
    const w = worker({ webhooks: sender });
    const res = await w.post({ prompt: "a red ball", steps: 8, job_id: "w-1", webhook_url: url });
    expect(res.status).toBe(200);
    await sender.idle();

    const verifier = new Webhook(SECRET);
    const events = received.map((r) => ({
      id: r.headers["webhook-id"],
      payload: verifier.verify(r.body, r.headers) as { type: string; data: JobProgress },
    }));
    expect(events.map((e) => e.payload.type)).toEqual([
      "job.started",
      "job.completed",
      "job.completed",
    ]);
    expect(events[0].payload.data).toMatchObject({ job_id: "w-1", state: "running", steps: 8 });
    expect(events[2].payload.data).toMatchObject({ job_id: "w-1", state: "succeeded", step: 8 });
    // The retry is the same message (same id, for receivers' de-duplication), signed afresh.
    expect(events[2].id).toBe(events[1].id);
    expect(outcomes.find((o) => o.event === "job.completed")).toMatchObject({
      delivered: true,
      attempts: 2,
    });
    // A forged body does not verify.
    const forged = received[2].body.replace("succeeded", "failed");
    expect(() => verifier.verify(forged, received[2].headers)).toThrow();
  });

  it("sends only the events asked for; refuses webhook_url on a worker without a secret", async () => {
    received.length = 0;
    const sender = new WebhookSender(SECRET, { firstDelayMs: 20 });
    const w = worker({ webhooks: sender });
    const body = { prompt: "a red ball", steps: 3, webhook_url: url };
    expect((await w.post({ ...body, webhook_events: ["job.completed"] })).status).toBe(200);
    await sender.idle();
    expect(received.map((r) => JSON.parse(r.body).type)).toEqual(["job.completed"]);

    const unsigned = worker();
    const refused = await unsigned.post(body);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { field: string } }).error.field).toBe(
      "webhook_url",
    );
    const bad = await w.post({ ...body, webhook_url: "ftp://x" });
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe("webhook_url");
  });
});
