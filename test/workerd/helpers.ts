/** Helpers for the workerd tests: admin/worker calls through SELF, fixture bundle uploads. */
import { env, SELF } from "cloudflare:test";
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
  path: string;
  body: Record<string, unknown> | undefined;
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
