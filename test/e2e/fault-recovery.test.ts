/**
 * Issue 12's fault campaign on the real stack: `wrangler dev` (heartbeat 1 s, TTL 3 s) with two
 * real GPU workers on ../shared/fixtures/tiny-sd2, each queueing at most one job so the pool is
 * saturated (429s) by every burst. While jobs flow, worker A is killed and restarted, worker B
 * is frozen (SIGSTOP) and thawed, then both are killed and one comes back. Every accepted job
 * must succeed (none failed or stuck), each within 30 s of the fault that delayed it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as stack from "@budgetfusion/scripts/local-stack";
import { FIXTURES } from "@budgetfusion/test-helpers/fixtures";
import { deployBundle } from "@budgetfusion/training/bundle/deploy-bundle";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixtureBundles } from "../workerd/build-fixture-bundle";

const PORT = 19500 + Math.floor(Math.random() * 300);
const EDGE = `http://127.0.0.1:${PORT}`;
const secrets = stack.devSecrets();
let dir: string;
let edge: stack.Child | undefined;
const workers = new Map<string, stack.Child>();

async function startPoolWorker(id: string, port: number) {
  workers.set(
    id,
    await stack.startWorker(
      {
        port,
        edgeUrl: EDGE,
        workerToken: secrets.WORKER_TOKEN,
        modelDir: join(FIXTURES, "tiny-sd2"),
        workerId: id,
      },
      secrets.ADMIN_TOKEN,
    ),
  );
}

function signal(id: string, sig: NodeJS.Signals) {
  const pid = workers.get(id)?.proc.pid;
  if (pid !== undefined) process.kill(-pid, sig);
}

interface Submitted {
  id: string;
  at: number;
}

async function submit(n: number, tag: string): Promise<{ accepted: Submitted[]; refused: number }> {
  const accepted: Submitted[] = [];
  let refused = 0;
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const res = await fetch(`${EDGE}/v1/generate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt: `${tag} ${i}`, steps: 2, seed: i, width: 64, height: 64 }),
      });
      if (res.status === 202 || res.status === 200) {
        accepted.push({ id: ((await res.json()) as { job_id: string }).job_id, at: Date.now() });
      } else {
        expect([429, 503]).toContain(res.status);
        expect(res.headers.get("retry-after")).not.toBeNull();
        refused++;
      }
    }),
  );
  return { accepted, refused };
}

/** Polls every job until it is terminal; returns status and when it finished. */
async function settle(jobs: Submitted[], timeoutMs: number) {
  const done = new Map<string, { status: string; at: number }>();
  const end = Date.now() + timeoutMs;
  while (done.size < jobs.length && Date.now() < end) {
    for (const job of jobs) {
      if (done.has(job.id)) continue;
      const view = (await (await fetch(`${EDGE}/v1/jobs/${job.id}`)).json()) as { status: string };
      if (view.status === "succeeded" || view.status === "failed") {
        done.set(job.id, { status: view.status, at: Date.now() });
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return done;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "bf-fault-"));
  await buildFixtureBundles(join(dir, "bundles"));
  // One queued job per worker: every burst saturates the pool (the workers answer 429).
  process.env.WORKER_QUEUE_LIMIT = "1";
  edge = await stack.startEdge({
    port: PORT,
    persistTo: join(dir, "state"),
    // Two dispatcher shards: the faults hit jobs of both, each shard recovering its own.
    vars: {
      HEARTBEAT_INTERVAL_S: "1",
      JOB_ATTEMPT_TIMEOUT_S: "120",
      API_KEYS: "optional",
      DISPATCHER_SHARDS: "2",
    },
  });
  await deployBundle({
    edge: EDGE,
    token: secrets.ADMIN_TOKEN,
    bundleDir: join(dir, "bundles", "fx-edge16"),
    fetchImpl: stack.fetchWithin(stack.ADMIN_CALL_TIMEOUT_MS),
  });
  await startPoolWorker("fault-a", PORT + 1);
  await startPoolWorker("fault-b", PORT + 2);
}, 600_000);

afterAll(async () => {
  // A frozen B must be thawed to stop; after phase 3 it may be gone already (ESRCH).
  try {
    signal("fault-b", "SIGCONT");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
  await Promise.all([...workers.values()].map((w) => stack.stop(w)));
  if (edge !== undefined) await stack.stop(edge);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("real stack under kills, freezes and saturation", () => {
  it("loses no accepted job and recovers from each fault within 30 s", async () => {
    /** Settles one phase's jobs; returns seconds from `from` to its last completion. */
    const phase = async (name: string, jobs: Submitted[], from: () => number) => {
      const results = await settle(jobs, 90_000);
      const stuck = jobs.filter((j) => !results.has(j.id)).length;
      const failed = jobs.filter((j) => results.get(j.id)?.status === "failed").length;
      expect({ name, stuck, failed }).toEqual({ name, stuck: 0, failed: 0 });
      const last = Math.max(...jobs.map((j) => results.get(j.id)?.at ?? 0));
      const recoveryS = (last - from()) / 1000;
      console.log(`${name}: ${jobs.length} jobs, all done ${recoveryS.toFixed(1)} s after`);
      return recoveryS;
    };
    const recoveries: number[] = [];

    // 1. Saturation plus a killed worker: A dies with work in flight, B carries on; A returns.
    let burst = await submit(10, "kill-a");
    let at = Date.now();
    signal("fault-a", "SIGKILL");
    await startPoolWorker("fault-a", PORT + 1);
    recoveries.push(await phase("worker A killed", burst.accepted, () => at));

    // 2. A frozen worker: B stops answering and heartbeating for 8 s.
    burst = await submit(10, "freeze-b");
    at = Date.now();
    signal("fault-b", "SIGSTOP");
    await new Promise((r) => setTimeout(r, 8_000));
    signal("fault-b", "SIGCONT");
    recoveries.push(await phase("worker B frozen 8 s", burst.accepted, () => at));

    // 3. The whole pool dies with jobs accepted; one worker is started again 10 s later.
    burst = await submit(6, "pool-down");
    signal("fault-a", "SIGKILL");
    signal("fault-b", "SIGKILL");
    await new Promise((r) => setTimeout(r, 10_000));
    at = Date.now();
    await startPoolWorker("fault-a", PORT + 1);
    recoveries.push(await phase("both killed, A back after 10 s", burst.accepted, () => at));

    for (const s of recoveries) expect(s).toBeLessThan(30);
  }, 600_000);
});
