/**
 * Consumer API keys in workerd: every /v1 route but the workers' own answers 401 without a key
 * when keys are required (wrangler.toml's default), Bearer and x-api-key both work, a key is
 * shown once and stored only as its SHA-256 digest, revoked and unknown keys are refused in
 * every mode, and the key routes need the admin token.
 */
import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  bearer,
  clearWorkers,
  createKey,
  type ErrorJson,
  fetchRequiringKeys,
  installActive,
  postJson,
  registerWorker,
  registration,
  WORKER,
} from "./helpers";

const JOB = "00000000-0000-4000-8000-000000000000";
const budgetBody = JSON.stringify({ prompt: "a red cube" });
const json = { "content-type": "application/json" };

async function sha256Hex(text: string) {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function expectUnauthorized(res: Response, challenge: RegExp) {
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toMatch(challenge);
  const body = (await res.json()) as ErrorJson;
  expect(body.error).toMatchObject({ code: "unauthorized", field: "authorization" });
}

beforeAll(async () => {
  await clearWorkers();
  await registerWorker("embedder", "ok-embed.fake", 1);
  await installActive("fx-gpu24", "keys-gpu24");
});

describe("keys required (wrangler.toml's default)", () => {
  const consumerRoutes: [string, string, string | undefined][] = [
    ["POST", "/v1/budget", budgetBody],
    ["POST", "/v1/generate", JSON.stringify({ prompt: "a red cube", steps: 4 })],
    ["GET", `/v1/jobs/${JOB}`, undefined],
    ["GET", `/v1/images/${JOB}`, undefined],
    ["GET", "/v1/usage", undefined],
  ];

  it.each(consumerRoutes)(
    "%s %s without a key is 401 with a Bearer challenge",
    async (method, path, body) => {
      const res = await fetchRequiringKeys(path, { method, headers: json, body });
      await expectUnauthorized(res, /^Bearer realm="api"$/);
    },
  );

  it("the wrangler.toml default is required: the test project overrides it to local mode", () => {
    // The override is the test project's (vitest.config.ts); what deploys is wrangler.toml's.
    expect(env.API_KEYS).toBe("optional");
  });

  it("a key as Bearer or as x-api-key is served", async () => {
    const key = await createKey({ name: "both-headers" });
    for (const headers of [bearer(key), { "x-api-key": key.api_key }]) {
      const res = await fetchRequiringKeys("/v1/budget", {
        method: "POST",
        headers: { ...json, ...headers },
        body: budgetBody,
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { predictor_version: string }).predictor_version).toBe(
        "keys-gpu24",
      );
    }
  });

  it("an unknown key is 401 invalid_token", async () => {
    const res = await fetchRequiringKeys("/v1/budget", {
      method: "POST",
      headers: { ...json, authorization: "Bearer bf_not-a-key" },
      body: budgetBody,
    });
    await expectUnauthorized(res, /error="invalid_token"/);
  });

  it("the GPU workers' routes keep their own token, not a consumer key", async () => {
    const res = await fetchRequiringKeys("/v1/workers/nobody/heartbeat", {
      method: "POST",
      headers: { ...json, ...WORKER },
      body: JSON.stringify(registration("nobody", "ok-nobody.fake")),
    });
    expect(res.status).not.toBe(401);
  });

  it("the pages and health answer without a key", async () => {
    expect((await fetchRequiringKeys("/")).status).toBe(200);
    const ops = await fetchRequiringKeys("/ops");
    expect(ops.status).toBe(200);
    // The operator view holds no data itself: everything comes from the admin API.
    expect(await ops.text()).toContain('fetch("/admin/usage/savings.svg');
    expect((await fetchRequiringKeys("/healthz")).status).toBe(200);
  });
});

describe("local mode (npm start without BF_REQUIRE_KEYS)", () => {
  it("serves /v1 without a key, but still refuses an unknown key", async () => {
    expect((await postJson("/v1/budget", { prompt: "a red cube" })).status).toBe(200);
    const res = await postJson(
      "/v1/budget",
      { prompt: "a red cube" },
      { authorization: "Bearer bf_unknown" },
    );
    await expectUnauthorized(res, /invalid_token/);
  });
});

describe("a key's jobs", () => {
  it("are readable by that key only; another key gets 404 as for no job", async () => {
    const owner = await createKey({ name: "job-owner" });
    const other = await createKey({ name: "job-other" });
    await registerWorker("w-keys", "ok-keys.fake", 2);
    const res = await postJson(
      "/v1/generate?wait=30",
      { prompt: "a red cube", steps: 2, seed: 1 },
      bearer(owner),
    );
    expect(res.status).toBe(200);
    const job = (await res.json()) as { job_id: string; image_url: string };
    for (const path of [`/v1/jobs/${job.job_id}`, job.image_url]) {
      expect((await SELF.fetch(`http://edge${path}`, { headers: bearer(owner) })).status).toBe(200);
      const foreign = await SELF.fetch(`http://edge${path}`, { headers: bearer(other) });
      expect(foreign.status).toBe(404);
    }
    const image = await SELF.fetch(`http://edge${job.image_url}`, { headers: bearer(owner) });
    expect(image.headers.get("cache-control")).toMatch(/^private/);
  });
});

describe("key administration", () => {
  it("shows a key once and stores only its SHA-256 digest", async () => {
    const key = await createKey({ name: "acme", plan: "pro", baseline_steps: 30 });
    expect(key.api_key).toMatch(/^bf_[A-Za-z0-9_-]{43}$/);
    expect(key).toMatchObject({
      name: "acme",
      plan: "pro",
      baseline_steps: 30,
      prefix: key.api_key.slice(0, 9),
      limits: { budgets_per_minute: 1200, generations_per_minute: 120, concurrent_jobs: 32 },
      revoked_at: null,
    });
    const row = await env.DB.prepare("SELECT * FROM api_keys WHERE id = ?")
      .bind(key.key_id)
      .first<Record<string, unknown>>();
    expect(row?.key_hash).toBe(await sha256Hex(key.api_key));
    expect(JSON.stringify(row)).not.toContain(key.api_key);

    const list = await SELF.fetch("http://edge/admin/keys", { headers: ADMIN });
    const listed = (await list.json()) as { keys: Record<string, unknown>[] };
    const mine = listed.keys.find((k) => k.key_id === key.key_id);
    expect(mine).toMatchObject({ name: "acme", prefix: key.prefix });
    expect(JSON.stringify(listed)).not.toContain(key.api_key);
  });

  it("defaults: plan free, baseline 50, the plan's concurrent-jobs cap", async () => {
    const key = await createKey({ name: "defaults" });
    expect(key).toMatchObject({
      plan: "free",
      baseline_steps: 50,
      limits: { budgets_per_minute: 60, generations_per_minute: 10, concurrent_jobs: 4 },
    });
  });

  it("refuses bad input naming the field", async () => {
    for (const [body, field] of [
      [{ name: "" }, "name"],
      [{ name: "x", plan: "gold" }, "plan"],
      [{ name: "x", baseline_steps: 0 }, "baseline_steps"],
      [{ name: "x", concurrent_jobs: 1.5 }, "concurrent_jobs"],
      [{ name: "x", extra: 1 }, undefined],
    ] as const) {
      const res = await postJson("/admin/keys", body, ADMIN);
      expect(res.status).toBe(400);
      const err = (await res.json()) as ErrorJson;
      if (field !== undefined) expect(err.error.field).toBe(field);
    }
  });

  it("revocation refuses the key at once; its history stays listed", async () => {
    const key = await createKey({ name: "to-revoke" });
    const call = () =>
      postJson("/v1/budget", { prompt: "a red cube" }, { "x-api-key": key.api_key });
    expect((await call()).status).toBe(200);
    const del = await SELF.fetch(`http://edge/admin/keys/${key.key_id}`, {
      method: "DELETE",
      headers: ADMIN,
    });
    expect(del.status).toBe(200);
    expect(((await del.json()) as { revoked_at: string | null }).revoked_at).not.toBeNull();
    await expectUnauthorized(await call(), /invalid_token/);
    const again = await SELF.fetch(`http://edge/admin/keys/${key.key_id}`, {
      method: "DELETE",
      headers: ADMIN,
    });
    expect(again.status).toBe(200);
    const unknown = await SELF.fetch(`http://edge/admin/keys/${JOB}`, {
      method: "DELETE",
      headers: ADMIN,
    });
    expect(unknown.status).toBe(404);
  });

  it.each([
    ["POST", "/admin/keys"],
    ["GET", "/admin/keys"],
    ["DELETE", `/admin/keys/${JOB}`],
    ["GET", "/admin/usage"],
  ])("%s %s needs the admin token, not a consumer key", async (method, path) => {
    const key = await createKey({ name: "not-admin" });
    for (const headers of [{}, bearer(key)]) {
      const res = await SELF.fetch(`http://edge${path}`, { method, headers });
      expect(res.status).toBe(401);
    }
  });
});

describe("OpenAPI", () => {
  it("documents keys, limits, usage and canary", async () => {
    const doc = (await (await SELF.fetch("http://edge/openapi.json")).json()) as {
      paths: Record<string, Record<string, { security?: unknown; responses: object }>>;
      components: { securitySchemes: Record<string, { type: string }> };
    };
    for (const p of [
      "/admin/keys",
      "/admin/keys/{key_id}",
      "/v1/usage",
      "/admin/usage",
      "/admin/usage/savings.svg",
      "/admin/bundles/{version}/canary",
      "/admin/bundles/{version}/canary/promote",
      "/admin/bundles/{version}/canary/abort",
    ]) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
    expect(Object.keys(doc.components.securitySchemes)).toEqual(
      expect.arrayContaining(["apiKey", "apiKeyHeader", "adminToken"]),
    );
    for (const [path, method, limited] of [
      ["/v1/budget", "post", true],
      ["/v1/generate", "post", true],
      ["/v1/jobs/{id}", "get", false],
      ["/v1/usage", "get", false],
    ] as const) {
      const op = doc.paths[path][method];
      expect(op.security).toEqual([{ apiKey: [] }, { apiKeyHeader: [] }]);
      expect(Object.keys(op.responses)).toContain("401");
      if (limited) expect(Object.keys(op.responses)).toContain("429");
    }
  });
});
