/**
 * The worker as a process (`gpu-worker/src/main.ts` on port 18789 with tiny-sd2): it answers
 * /readyz once loaded, and on SIGTERM finishes the generation it is running (200 PNG), refuses new
 * work, and exits 0 (SPEC §7: never lose an accepted job).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { fixturePath } from "@budgetfusion/test-helpers/fixtures";
import { afterAll, describe, expect, it } from "vitest";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const PORT = 18789;
const BASE = `http://127.0.0.1:${PORT}`;

async function waitReady(child: ChildProcess, log: () => string): Promise<void> {
  const end = Date.now() + 50_000;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`worker exited early:\n${log()}`);
    try {
      if ((await fetch(`${BASE}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`worker not ready:\n${log()}`);
}

describe("worker process", () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
  });

  it("drains in-flight work on SIGTERM, then exits 0", async () => {
    let log = "";
    child = spawn(process.execPath, ["--import", "tsx", join(REPO, "gpu-worker/src/main.ts")], {
      cwd: REPO,
      env: {
        ...process.env,
        WORKER_PORT: String(PORT),
        WORKER_MODEL_DIR: fixturePath("tiny-sd2"),
        WORKER_CONCURRENCY: "1",
        WORKER_QUEUE_LIMIT: "2",
        EDGE_URL: "",
        WORKER_TOKEN: "",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr?.on("data", (d) => {
      log += String(d);
    });
    const exited = new Promise<number | null>((r) => child?.once("exit", (code) => r(code)));
    await waitReady(child, () => log);

    // A long generation (many steps) that is running when SIGTERM arrives.
    const inFlight = fetch(`${BASE}/v1/generate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "a long job", steps: 120, seed: 1 }),
    });
    const end = Date.now() + 10_000;
    while (!/bf_worker_in_flight 1/.test(await (await fetch(`${BASE}/metrics`)).text())) {
      if (Date.now() > end) throw new Error("job never started");
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 100));
    // New work is refused while draining (503), or the socket is already closed.
    const late = await fetch(`${BASE}/v1/generate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "late", steps: 1 }),
    }).then(
      (r) => r.status,
      () => "closed",
    );
    expect([503, "closed"]).toContain(late);

    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("x-bf-steps")).toBe("120");
    expect(await exited).toBe(0);
    expect(log).toMatch(/SIGTERM: draining 1 running/);
  });
});
