/**
 * `npm start` (scripts/start.ts, edge only) twice on one local state: the first start activates
 * the bundle artifacts/bundles/DEFAULT names; the operator then activates another one through
 * the admin API; the restart keeps the operator's choice instead of re-activating the default.
 * The first start is local mode (/v1 answers without an API key); the restart, with
 * BF_REQUIRE_KEYS=1, refuses a call without a key and serves one with a key the admin token of
 * .dev.vars created.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BUNDLES_ROOT } from "@budgetfusion/scripts/bundle-choice";
import { devSecrets, fetchWithin } from "@budgetfusion/scripts/local-stack";
import { DEFAULT_BUNDLE_FILE } from "@budgetfusion/shared/predictor/default-bundle";
import { freePort } from "@budgetfusion/test-helpers/free-port";
import { BundleAdminClient } from "@budgetfusion/training/bundle/admin-client";
import { deployBundle } from "@budgetfusion/training/bundle/deploy-bundle";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixtureBundles } from "../workerd/build-fixture-bundle";

const ROOT = resolve(import.meta.dirname, "../..");
let PORT: number;
let EDGE: string;
const DEFAULT_VERSION = readFileSync(join(BUNDLES_ROOT, DEFAULT_BUNDLE_FILE), "utf8").trim();

function budget(headers: Record<string, string> = {}) {
  return fetch(`${EDGE}/v1/budget`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ prompt: "a white and empty wall", include_curves: false }),
  });
}

let dir: string;
let running: ChildProcess | undefined;
/** What the running `npm start` printed, for the failure message. */
let startLog = "";

/** Runs `npm start --no-worker` on `dir`'s state until it prints ready; returns its log. */
async function start(env: Record<string, string> = {}): Promise<string> {
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", "scripts/start.ts", "--no-worker", "--state", join(dir, "state")],
    {
      cwd: ROOT,
      env: { ...process.env, EDGE_PORT: String(PORT), ...env },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  running = proc;
  startLog = "";
  await new Promise<void>((done, fail) => {
    proc.stderr?.on("data", (chunk: Buffer) => {
      startLog += chunk.toString();
      if (startLog.includes("[start] ready")) done();
    });
    proc.once("exit", (code) => fail(new Error(`npm start exited with ${code}:\n${startLog}`)));
  });
  return startLog;
}

/** SIGTERM, as Ctrl-C would: start.ts stops wrangler and exits. */
async function stopStart(): Promise<void> {
  const proc = running;
  running = undefined;
  if (proc === undefined || proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once("exit", r));
  proc.kill("SIGTERM");
  await exited;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "bf-start-restart-"));
  PORT = await freePort();
  EDGE = `http://127.0.0.1:${PORT}`;
});

afterAll(async () => {
  await stopStart();
  await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("npm start on existing state", () => {
  it("activates the DEFAULT bundle once, then keeps the operator's choice across a restart", async () => {
    const { ADMIN_TOKEN } = devSecrets();
    const first = await start();
    expect(first).toContain(`predictor bundle ${DEFAULT_VERSION} active (from`);
    const admin = new BundleAdminClient({ edge: EDGE, token: ADMIN_TOKEN });
    expect(await admin.activeVersion()).toBe(DEFAULT_VERSION);
    expect(first).toContain("[start] local mode");
    expect((await budget()).status).toBe(200);

    // The operator deploys and activates another bundle; a stuck edge fails with its log.
    await buildFixtureBundles(join(dir, "bundles"));
    const bounded: typeof fetch = (input, init) =>
      fetchWithin(120_000)(input, init).catch((err) => {
        throw new Error(`${err}; npm start printed:\n${startLog.slice(-4000)}`);
      });
    const deployed = await deployBundle({
      edge: EDGE,
      token: ADMIN_TOKEN,
      bundleDir: join(dir, "bundles", "fx-edge16"),
      fetchImpl: bounded,
    });
    expect(deployed).toEqual({ version: "fx-edge16", uploaded: true, activated: true });
    await stopStart();

    const second = await start({ BF_REQUIRE_KEYS: "1" });
    expect(second).toContain("predictor bundle fx-edge16 active (kept from the existing state");
    expect(second).toContain("API keys required");
    expect(await admin.activeVersion()).toBe("fx-edge16");
    expect((await budget()).status).toBe(401);
    const created = await fetch(`${EDGE}/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "start-restart" }),
    });
    expect(created.status).toBe(201);
    const { api_key } = (await created.json()) as { api_key: string };
    const keyed = await budget({ authorization: `Bearer ${api_key}` });
    expect(keyed.status).toBe(200);
    expect(((await keyed.json()) as { predictor_version: string }).predictor_version).toBe(
      "fx-edge16",
    );
  }, 600_000);
});
