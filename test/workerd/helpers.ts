/** Helpers for the workerd tests: admin/worker calls through SELF, fixture bundle uploads. */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import edge from "@budgetfusion/edge/index";
import { inject } from "vitest";
import type { FixtureBundle } from "./fixture-contract";

export const ADMIN = { authorization: "Bearer test-admin-token" };
export const WORKER = { authorization: "Bearer test-worker-token" };

export function fixtureBundle(version: string): FixtureBundle {
  const found = inject("fixtureBundles").find((b) => b.version === version);
  if (found === undefined) throw new Error(`fixture bundle ${version} was not built`);
  return found;
}

async function fixtureFile(version: string, file: string): Promise<Uint8Array> {
  const res = await fetch(`http://fixtures.fake/${version}/${file}`);
  if (!res.ok) throw new Error(`fixture ${version}/${file}: ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

export interface UploadParts {
  manifest: string;
  files: Map<string, Uint8Array>;
}

/** The upload parts of a fixture bundle, optionally renamed to `asVersion`, with manifest
 * fields added or replaced by `patch`. */
export async function bundleParts(
  version: string,
  asVersion = version,
  patch: Record<string, unknown> = {},
): Promise<UploadParts> {
  const b = fixtureBundle(version);
  const files = new Map<string, Uint8Array>();
  for (const f of b.files) files.set(f, await fixtureFile(version, f));
  return { manifest: JSON.stringify({ ...b.manifest, ...patch, version: asVersion }), files };
}

export function upload(parts: UploadParts, headers: Record<string, string> = ADMIN) {
  const form = new FormData();
  form.append("manifest", parts.manifest);
  for (const [name, bytes] of parts.files) form.append(name, new Blob([bytes]), name);
  return SELF.fetch("http://edge/admin/bundles", { method: "POST", headers, body: form });
}

export async function installActive(
  version: string,
  asVersion = version,
  patch: Record<string, unknown> = {},
) {
  const up = await upload(await bundleParts(version, asVersion, patch));
  if (up.status !== 201) throw new Error(`upload ${asVersion}: ${up.status} ${await up.text()}`);
  const act = await SELF.fetch(`http://edge/admin/bundles/${asVersion}/activate`, {
    method: "POST",
    headers: ADMIN,
  });
  if (act.status !== 200)
    throw new Error(`activate ${asVersion}: ${act.status} ${await act.text()}`);
}

export function registration(id: string, host: string, capacity = 2, modelId = "tiny-sd2") {
  return {
    worker_id: id,
    url: `http://${host}`,
    model_id: modelId,
    capacity,
    queue_depth: 0,
    in_flight: 0,
  };
}

export async function registerWorker(id: string, host: string, capacity = 2, modelId = "tiny-sd2") {
  const res = await SELF.fetch("http://edge/v1/workers/register", {
    method: "POST",
    headers: { ...WORKER, "content-type": "application/json" },
    body: JSON.stringify(registration(id, host, capacity, modelId)),
  });
  if (res.status !== 200) throw new Error(`register ${id}: ${res.status} ${await res.text()}`);
}

export async function clearWorkers() {
  await env.DB.exec("DELETE FROM workers");
}

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}) {
  return SELF.fetch(`http://edge${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

export interface Call {
  host: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  text: string;
  body: Record<string, unknown> | undefined;
  at: number;
}

export async function fakeCalls(): Promise<Call[]> {
  return (await (await fetch("http://control.fake/calls")).json()) as Call[];
}

export async function clearFakeCalls() {
  await fetch("http://control.fake/calls", { method: "DELETE" });
}

export interface ErrorJson {
  error: { code: string; message: string; field?: string; requestId: string };
}

/**
 * A request to the edge as deployed (wrangler.toml's API_KEYS = "required"); the test project
 * itself runs in local mode (vitest.config.ts). Work deferred with waitUntil has finished when
 * this returns.
 */
export async function fetchRequiringKeys(path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const res = await edge.fetch(
    new Request(`http://edge${path}`, init),
    { ...env, API_KEYS: "required" },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

export interface CreatedKey {
  key_id: string;
  api_key: string;
  name: string;
  plan: string;
  prefix: string;
  baseline_steps: number;
  limits: { budgets_per_minute: number; generations_per_minute: number; concurrent_jobs: number };
  revoked_at: string | null;
}

export async function createKey(body: Record<string, unknown>): Promise<CreatedKey> {
  const res = await postJson("/admin/keys", body, ADMIN);
  if (res.status !== 201) throw new Error(`create key: ${res.status} ${await res.text()}`);
  return (await res.json()) as CreatedKey;
}

export const bearer = (key: CreatedKey) => ({ authorization: `Bearer ${key.api_key}` });
