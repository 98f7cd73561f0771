/**
 * Per-worker identity (issue 12, "Per-worker identity"): an admin issues each GPU worker its own
 * credential, stored as a digest; a credential acts only on its own worker_id; while any is live
 * the shared WORKER_TOKEN registers nothing; revocation takes the worker out of the rotation and
 * its running job is retried elsewhere.
 */
import { env, SELF } from "cloudflare:test";
import { d1Database } from "@budgetfusion/edge/db/client";
import { getJob } from "@budgetfusion/edge/db/queries/jobs";
import { keyDigest } from "@budgetfusion/edge/keys/api-key-secret";
import type { JobResponse } from "@budgetfusion/shared/schemas/edge-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ADMIN,
  clearFakeCalls,
  clearWorkers,
  type ErrorJson,
  postJson,
  registration,
  WORKER,
} from "./helpers";

interface Issued {
  credential_id: string;
  worker_id: string;
  prefix: string;
  credential: string;
}

async function issue(workerId: string): Promise<Issued> {
  const res = await postJson("/admin/worker-credentials", { worker_id: workerId }, ADMIN);
  expect(res.status).toBe(201);
  return (await res.json()) as Issued;
}

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

function register(id: string, host: string, auth: Record<string, string>, capacity = 2) {
  return postJson("/v1/workers/register", registration(id, host, capacity), auth);
}

function heartbeat(id: string, host: string, auth: Record<string, string>, capacity = 2) {
  return postJson(`/v1/workers/${id}/heartbeat`, registration(id, host, capacity), auth);
}

function deregister(id: string, auth: Record<string, string>) {
  return SELF.fetch(`http://edge/v1/workers/${id}`, { method: "DELETE", headers: auth });
}

async function errorField(res: Response) {
  return ((await res.json()) as ErrorJson).error.field;
}

beforeEach(async () => {
  await clearWorkers();
  await clearFakeCalls();
  await env.DB.exec("UPDATE jobs SET status = 'failed' WHERE status IN ('queued', 'running')");
});

// Credentials switch the whole pool off the shared token: leave none behind for other tests.
afterEach(async () => {
  await env.DB.exec("DELETE FROM worker_credentials");
  await clearWorkers();
});

describe("worker credentials", () => {
  it("are shown once and stored only as their SHA-256 digest", async () => {
    const issued = await issue("w-digest");
    expect(issued.credential).toMatch(/^bfw_[A-Za-z0-9_-]{43}$/);
    expect(issued.prefix).toBe(issued.credential.slice(0, 10));
    const rows = await env.DB.prepare("SELECT * FROM worker_credentials").all();
    expect(rows.results).toHaveLength(1);
    expect(rows.results[0].secret_hash).toBe(await keyDigest(issued.credential));
    expect(JSON.stringify(rows.results)).not.toContain(issued.credential);
    const list = await SELF.fetch("http://edge/admin/worker-credentials", { headers: ADMIN });
    expect(list.status).toBe(200);
    const text = await list.text();
    expect(text).not.toContain(issued.credential);
    expect(JSON.parse(text)).toMatchObject({
      credentials: [
        { credential_id: issued.credential_id, worker_id: "w-digest", revoked_at: null },
      ],
    });
  });

  it("need ADMIN_TOKEN and a valid worker_id", async () => {
    const anon = await postJson("/admin/worker-credentials", { worker_id: "w-x" }, WORKER);
    expect(anon.status).toBe(401);
    const bad = await postJson("/admin/worker-credentials", { worker_id: "no spaces" }, ADMIN);
    expect(bad.status).toBe(400);
    expect(await errorField(bad)).toBe("worker_id");
    const unknown = await SELF.fetch(
      `http://edge/admin/worker-credentials/${crypto.randomUUID()}`,
      { method: "DELETE", headers: ADMIN },
    );
    expect(unknown.status).toBe(404);
  });

  it("bind the worker_id: another credential cannot register, heartbeat or delete it", async () => {
    const a = bearer((await issue("w-a")).credential);
    const b = bearer((await issue("w-b")).credential);
    expect((await register("w-a", "ok-a.fake", a)).status).toBe(200);
    expect((await register("w-b", "ok-b.fake", b)).status).toBe(200);

    const hijack = await register("w-a", "ok-a.fake", b);
    expect(hijack.status).toBe(403);
    expect(await errorField(hijack)).toBe("worker_id");
    expect((await heartbeat("w-a", "ok-a.fake", b)).status).toBe(403);
    expect((await deregister("w-a", b)).status).toBe(403);

    expect((await heartbeat("w-a", "ok-a.fake", a)).status).toBe(200);
    const workers = await env.DB.prepare("SELECT id FROM workers ORDER BY id").all<{
      id: string;
    }>();
    expect(workers.results.map((w) => w.id)).toEqual(["w-a", "w-b"]);
    expect((await deregister("w-a", a)).status).toBe(204);
  });

  it("turn the shared WORKER_TOKEN off for registration while any is live", async () => {
    expect((await register("w-shared", "ok-shared.fake", WORKER)).status).toBe(200);
    const issued = await issue("w-own");
    // The shared token now neither registers a new worker nor keeps an old one beating.
    expect((await register("w-fake", "ok-fake.fake", WORKER, 1024)).status).toBe(401);
    expect((await heartbeat("w-shared", "ok-shared.fake", WORKER)).status).toBe(401);
    expect((await register("w-own", "ok-own.fake", bearer(issued.credential))).status).toBe(200);
    // A made-up credential is no credential.
    expect((await register("w-own", "ok-own.fake", bearer("bfw_forged"))).status).toBe(401);
  });

  it("revoked: the worker leaves the rotation at once and its running job is retried elsewhere", async () => {
    const hung = await issue("w-hung");
    const good = await issue("w-good");
    const beats: [string, string, number, string][] = [
      ["w-hung", "hang.fake", 8, hung.credential],
      ["w-good", "ok-good.fake", 1, good.credential],
    ];
    for (const [id, host, capacity, secret] of beats) {
      expect((await register(id, host, bearer(secret), capacity)).status).toBe(200);
    }
    const timer = setInterval(() => {
      for (const [id, host, capacity, secret] of beats)
        void heartbeat(id, host, bearer(secret), capacity);
    }, 300);
    try {
      const res = await postJson("/v1/generate", { prompt: "revoked mid-job", steps: 2 });
      expect(res.status).toBe(202);
      const { job_id } = (await res.json()) as { job_id: string };
      const db = d1Database(env.DB);
      await expect.poll(async () => (await getJob(db, job_id))?.workerId).toBe("w-hung");

      const revoked = await SELF.fetch(
        `http://edge/admin/worker-credentials/${hung.credential_id}`,
        { method: "DELETE", headers: ADMIN },
      );
      expect(revoked.status).toBe(200);
      expect(((await revoked.json()) as { revoked_at: string | null }).revoked_at).not.toBeNull();
      const at = Date.now();
      expect((await heartbeat("w-hung", "hang.fake", bearer(hung.credential), 8)).status).toBe(401);
      expect((await register("w-hung", "hang.fake", bearer(hung.credential), 8)).status).toBe(401);

      // Well inside the 5 s attempt lease of the test config: the watchdog saw it leave.
      await expect
        .poll(
          async () => {
            const view = (await (
              await SELF.fetch(`http://edge/v1/jobs/${job_id}`)
            ).json()) as JobResponse;
            return view.status;
          },
          { timeout: 10_000, interval: 100 },
        )
        .toBe("succeeded");
      expect(Date.now() - at).toBeLessThan(4_000);
      expect(await getJob(db, job_id)).toMatchObject({ workerId: "w-good", attempt: 2 });
      const left = await env.DB.prepare("SELECT id FROM workers").all<{ id: string }>();
      expect(left.results.map((w) => w.id)).toEqual(["w-good"]);
    } finally {
      clearInterval(timer);
    }
  });
});
