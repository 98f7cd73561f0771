/**
 * D1 query helpers apart from the routes (STYLE §4), on the real migrations inside workerd:
 * the activation log and rollback, and the job state machine's conditional transitions.
 */
import { env } from "cloudflare:test";
import { d1Database } from "@budgetfusion/edge/db/client";
import {
  activate,
  activeVersion,
  insertVersion,
  rollback,
} from "@budgetfusion/edge/db/queries/bundles";
import {
  claimJob,
  dueJobs,
  failJob,
  getJob,
  insertJob,
  requeueJob,
  runningJobs,
} from "@budgetfusion/edge/db/queries/jobs";
import { beforeEach, describe, expect, it } from "vitest";

const db = d1Database(env.DB);

describe("activation log", () => {
  beforeEach(async () => {
    await env.DB.exec("DELETE FROM activations");
    await env.DB.exec("DELETE FROM predictor_versions WHERE version LIKE 'q-%'");
    for (const v of ["q-a", "q-b", "q-c"])
      await insertVersion(db, { version: v, manifest: "{}", totalBytes: 1, now: 1 });
  });

  it("rollback returns to the previously active version, skipping re-activations of the current one", async () => {
    expect(await activeVersion(db)).toBeUndefined();
    expect(await rollback(db, 10)).toBeUndefined();
    await activate(db, "q-a", 1);
    await activate(db, "q-b", 2);
    await activate(db, "q-c", 3);
    await activate(db, "q-c", 4);
    expect(await activeVersion(db)).toBe("q-c");
    expect(await rollback(db, 5)).toBe("q-b");
    expect(await activeVersion(db)).toBe("q-b");
    expect(await rollback(db, 6)).toBe("q-a");
    expect(await activeVersion(db)).toBe("q-a");
    // Nothing older than q-a: no change.
    expect(await rollback(db, 7)).toBeUndefined();
    expect(await activeVersion(db)).toBe("q-a");
  });
});

describe("job transitions are conditional on status and attempt", () => {
  const base = { request: "{}", steps: 3, stepsSource: "fixed" as const, seed: 1 };

  it("claim, requeue and fail only succeed for the owning attempt", async () => {
    const id = crypto.randomUUID();
    await insertJob(db, { id, status: "queued", createdAt: 1, ...base });
    expect((await dueJobs(db, "*/0", Date.now(), 100)).map((j) => j.id)).toContain(id);
    expect((await dueJobs(db, "*/1", Date.now(), 100)).map((j) => j.id)).not.toContain(id);
    expect(await claimJob(db, { id, attempt: 1 }, "w", 10, 20)).toBeUndefined();
    expect(await claimJob(db, { id, attempt: 0 }, "w", 10, 20)).toBe(1);
    // A second claim of the same queued snapshot loses: the job is running now.
    expect(await claimJob(db, { id, attempt: 0 }, "w2", 10, 20)).toBeUndefined();
    expect((await runningJobs(db, "*/0")).map((j) => j.id)).toContain(id);
    expect(await requeueJob(db, id, 2, 30, { code: "x", message: "y" })).toBe(false);
    expect(await requeueJob(db, id, 1, 30, { code: "worker_failed", message: "boom" })).toBe(true);
    expect(await getJob(db, id)).toMatchObject({
      status: "queued",
      attempt: 1,
      workerId: null,
      notBefore: 30,
    });
    expect(await claimJob(db, { id, attempt: 1 }, "w2", 40, 50)).toBe(2);
    expect(await failJob(db, id, 1, { code: "late", message: "stale attempt", now: 60 })).toBe(
      false,
    );
    expect(await failJob(db, id, 2, { code: "deadline_exceeded", message: "done", now: 60 })).toBe(
      true,
    );
    expect(await failJob(db, id, 2, { code: "again", message: "twice", now: 61 })).toBe(false);
    expect(await getJob(db, id)).toMatchObject({
      status: "failed",
      errorCode: "deadline_exceeded",
    });
  });

  it("a queued job fails (its deadline passed) only from the queued state and its attempt", async () => {
    const id = crypto.randomUUID();
    await insertJob(db, { id, status: "queued", attempt: 3, createdAt: 1, ...base });
    const reason = { code: "deadline_exceeded", message: "late", now: 70 };
    expect(await failJob(db, id, 3, reason)).toBe(false);
    expect(await failJob(db, id, 2, reason, "queued")).toBe(false);
    expect(await failJob(db, id, 3, reason, "queued")).toBe(true);
    expect((await getJob(db, id))?.status).toBe("failed");
  });
});
