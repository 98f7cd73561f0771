/**
 * The edge's job lifecycle (issue 13) on the real stack: `wrangler dev` (API keys required, a
 * WEBHOOK_SECRET) and the real GPU worker on ../shared/fixtures/tiny-sd2, on free ports in
 * 19100-19899, with a webhook receiver in this process:
 *  - a running job's progress on GET /v1/jobs/:id is the worker's own (steps, ETA);
 *  - DELETE stops it on the worker (the worker's own view ends `canceled`), the job ends
 *    `canceled`, and the receiver gets job.started and job.completed (canceled), verified with
 *    the `standardwebhooks` library a receiver would use;
 *  - the event stream of a job run to its end: progress events with growing steps, then `done`.
 * The workerd suite (test/workerd/job-lifecycle.test.ts) covers the same against fake workers,
 * with failures and retries; this checks the edge and the worker agree on the job API.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Child,
  devSecrets,
  startEdge,
  startWorker,
  stop,
} from "@budgetfusion/scripts/local-stack";
import type { JobResponse } from "@budgetfusion/shared/schemas/edge-api";
import type { JobProgress } from "@budgetfusion/shared/schemas/worker-api";
import { FIXTURES } from "@budgetfusion/test-helpers/fixtures";
import { freePort } from "@budgetfusion/test-helpers/free-port";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString("base64")}`;
/** Long enough on tiny-sd2 (a 32x32 latent, many steps) to be seen running and canceled. */
const LONG = { steps: 200, width: 256, height: 256 };

let EDGE: string;
let WORKER: string;
let workerToken: string;
let keyed: Record<string, string>;
let hooks: Server;
let HOOKS: string;
const received: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];
const children: Child[] = [];
let dir: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(v)}`);
    await sleep(50);
  }
}

const readJob = async (id: string) =>
  (await (await fetch(`${EDGE}/v1/jobs/${id}`, { headers: keyed })).json()) as JobResponse;

async function submit(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${EDGE}/v1/generate`, {
    method: "POST",
    headers: { ...keyed, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBe(202);
  return ((await res.json()) as { job_id: string }).job_id;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "bf-edge-jobs-"));
  hooks = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += String(d);
    });
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hooks.listen(0, "127.0.0.1", r));
  HOOKS = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`;
  const secrets = devSecrets();
  workerToken = secrets.WORKER_TOKEN;
  const edgePort = await freePort();
  EDGE = `http://127.0.0.1:${edgePort}`;
  try {
    children.push(
      await startEdge({
        port: edgePort,
        persistTo: join(dir, "state"),
        vars: { WEBHOOK_SECRET },
      }),
    );
    const created = await fetch(`${EDGE}/admin/keys`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${secrets.ADMIN_TOKEN}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ name: "e2e jobs", plan: "pro" }),
    });
    if (created.status !== 201) throw new Error(`key: ${created.status} ${await created.text()}`);
    keyed = { authorization: `Bearer ${((await created.json()) as { api_key: string }).api_key}` };
    const workerPort = await freePort();
    WORKER = `http://127.0.0.1:${workerPort}`;
    children.push(
      await startWorker(
        {
          port: workerPort,
          edgeUrl: EDGE,
          workerToken: secrets.WORKER_TOKEN,
          modelDir: join(FIXTURES, "tiny-sd2"),
          workerId: "jobs-worker",
        },
        secrets.ADMIN_TOKEN,
      ),
    );
  } catch (err) {
    await Promise.all(children.map((c) => stop(c)));
    throw err;
  }
}, 420_000);

afterAll(async () => {
  await Promise.all(children.reverse().map((c) => stop(c)));
  await new Promise((r) => hooks?.close(r));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("the edge's job lifecycle with the real GPU worker", () => {
  it("shows the worker's progress, cancels on the worker, and signs both webhooks", async () => {
    const path = "/hooks/cancel";
    const id = await submit({ prompt: "a long walk", ...LONG, webhook_url: `${HOOKS}${path}` });
    const moving = await until(
      () => readJob(id),
      (j) => (j.progress?.step ?? 0) > 0 || (j.status !== "running" && j.status !== "queued"),
    );
    expect(moving.status).toBe("running");
    expect(moving.progress?.steps).toBe(LONG.steps);
    expect(moving.progress?.step).toBeLessThan(LONG.steps);
    // The worker's ETA: the remaining steps at its measured step time.
    expect(moving.progress?.eta_ms).toBeGreaterThan(0);

    const res = await fetch(`${EDGE}/v1/jobs/${id}`, { method: "DELETE", headers: keyed });
    expect(res.status).toBe(200);
    expect(((await res.json()) as JobResponse).status).toBe("canceled");
    // The worker stopped it at a step boundary, short of its last step.
    const onWorker = await until(
      async () =>
        (await (
          await fetch(`${WORKER}/v1/jobs/${id}`, {
            headers: { authorization: `Bearer ${workerToken}` },
          })
        ).json()) as JobProgress,
      (p) => p.state !== "running" && p.state !== "queued",
    );
    expect(onWorker.state).toBe("canceled");
    expect(onWorker.step).toBeLessThan(LONG.steps);
    expect((await readJob(id)).status).toBe("canceled");

    const events = await until(
      async () => received.filter((r) => r.path === path),
      (r) => r.length >= 2,
    );
    const verifier = new Webhook(WEBHOOK_SECRET);
    const payloads = events.map(
      (e) =>
        verifier.verify(e.body, e.headers as Record<string, string>) as {
          type: string;
          data: JobResponse;
        },
    );
    expect(payloads.map((p) => [p.type, p.data.status])).toEqual([
      ["job.started", "running"],
      ["job.completed", "canceled"],
    ]);
  });

  it("streams a job's progress, then its end", async () => {
    const id = await submit({ prompt: "a walk to the end", ...LONG });
    const res = await fetch(`${EDGE}/v1/jobs/${id}/events`, { headers: keyed });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = (res.body as ReadableStream)
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream())
      .getReader();
    const seen: { event: string | undefined; job: JobResponse }[] = [];
    for (let r = await events.read(); !r.done; r = await events.read()) {
      seen.push({ event: r.value.event, job: JSON.parse(r.value.data) as JobResponse });
    }
    const last = seen.at(-1);
    expect(last?.event).toBe("done");
    expect(last?.job.status).toBe("succeeded");
    const progress = seen.slice(0, -1);
    expect(progress.every((e) => e.event === "progress")).toBe(true);
    const steps = progress.map((e) => e.job.progress?.step ?? 0);
    console.log(`event stream: ${seen.length} events, steps ${steps.join(", ")}`);
    // Sent when the step moves (polled every 0.5 s): more than one, in order.
    expect(new Set(steps).size).toBeGreaterThan(1);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
  });
});
