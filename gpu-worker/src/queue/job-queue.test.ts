import { CancelledError } from "@budgetfusion/inference/pipeline/cancel";
import { QueueFullError, TimeoutError } from "@budgetfusion/shared/errors";
import { describe, expect, it } from "vitest";
import { JobQueue, ShuttingDownError } from "./job-queue";

/** A task that finishes when `release()` is called, and records whether it was aborted. */
function gate() {
  let release!: () => void;
  const done = new Promise<void>((r) => {
    release = r;
  });
  const state = { started: false, aborted: false };
  const task = async (signal: AbortSignal) => {
    state.started = true;
    signal.addEventListener("abort", () => {
      state.aborted = true;
    });
    await done;
    return "ok";
  };
  return { task, release, state };
}

describe("JobQueue", () => {
  it("runs up to `concurrency` jobs, queues up to `queueLimit`, rejects the next", async () => {
    const q = new JobQueue({ concurrency: 2, queueLimit: 1, initialJobSeconds: 3 });
    const a = gate();
    const b = gate();
    const c = gate();
    const pa = q.run(a.task);
    const pb = q.run(b.task);
    const pc = q.run(c.task);
    expect([q.inFlight, q.depth]).toEqual([2, 1]);
    expect(c.state.started).toBe(false);
    const full = q.run(gate().task);
    await expect(full).rejects.toBeInstanceOf(QueueFullError);
    // 3 jobs ahead over 2 slots at 3 s each: ceil(1.5 * 3) = 5 s.
    await full.catch((e: QueueFullError) => expect(e.retryAfterSeconds).toBe(5));
    a.release();
    expect((await pa).value).toBe("ok");
    await Promise.resolve();
    expect(c.state.started).toBe(true);
    b.release();
    c.release();
    await Promise.all([pb, pc]);
    expect([q.inFlight, q.depth]).toEqual([0, 0]);
  });

  it("reports the time a job waited", async () => {
    const q = new JobQueue({ concurrency: 1, queueLimit: 1 });
    const a = gate();
    const pa = q.run(a.task);
    const pb = q.run(async () => 1);
    await new Promise((r) => setTimeout(r, 30));
    a.release();
    await pa;
    expect((await pb).queueMs).toBeGreaterThanOrEqual(25);
  });

  it("drops a waiting job whose client disconnects, and never starts it", async () => {
    const q = new JobQueue({ concurrency: 1, queueLimit: 2 });
    const a = gate();
    const b = gate();
    const pa = q.run(a.task);
    const client = new AbortController();
    const pb = q.run(b.task, { signal: client.signal });
    expect(q.depth).toBe(1);
    client.abort();
    await expect(pb).rejects.toBeInstanceOf(CancelledError);
    expect(q.depth).toBe(0);
    a.release();
    await pa;
    expect(b.state.started).toBe(false);
  });

  it("aborts a running job's signal when its client disconnects", async () => {
    const q = new JobQueue({ concurrency: 1, queueLimit: 0 });
    const a = gate();
    const client = new AbortController();
    const pa = q.run(a.task, { signal: client.signal });
    client.abort();
    await expect(pa).rejects.toBeInstanceOf(CancelledError);
    expect(a.state.aborted).toBe(true);
    // The slot is held until the task really returns.
    expect(q.inFlight).toBe(1);
    a.release();
    await new Promise((r) => setTimeout(r, 0));
    expect(q.inFlight).toBe(0);
  });

  it("times out waiting and running jobs with TimeoutError", async () => {
    const q = new JobQueue({ concurrency: 1, queueLimit: 1 });
    const a = gate();
    const b = gate();
    const pa = q.run(a.task, { timeoutMs: 20 });
    const pb = q.run(b.task, { timeoutMs: 10 });
    await expect(pb).rejects.toBeInstanceOf(TimeoutError);
    await expect(pa).rejects.toBeInstanceOf(TimeoutError);
    expect(a.state.aborted).toBe(true);
    expect(b.state.started).toBe(false);
    a.release();
  });

  it("drains in-flight work on shutdown and refuses new work", async () => {
    const q = new JobQueue({ concurrency: 1, queueLimit: 1 });
    const a = gate();
    const pa = q.run(a.task);
    let drained = false;
    const d = q.drain().then(() => {
      drained = true;
    });
    await expect(q.run(async () => 1)).rejects.toBeInstanceOf(ShuttingDownError);
    await new Promise((r) => setTimeout(r, 10));
    expect(drained).toBe(false);
    a.release();
    await pa;
    await d;
    expect(drained).toBe(true);
  });
});
