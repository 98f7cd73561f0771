/**
 * The edge's HTTP boundary, built from hono's own middleware: request ids (hono/request-id)
 * echoed in the header and in every error body; bearer auth (hono/bearer-auth) answering 401
 * with a WWW-Authenticate challenge and the JSON error body; body limits (hono/body-limit)
 * answering 413 with the limit named, without reading an oversized body; 415 naming
 * content-type for a body that is not JSON; 405 with Allow (hono/method-not-allowed) for a known
 * path asked with another method; secure headers (hono/secure-headers) and a nonce-based
 * Content-Security-Policy on the page at /.
 */
import { createExecutionContext, env, SELF } from "cloudflare:test";
import { createApp } from "@budgetfusion/edge/app";
import { tokensEqual } from "@budgetfusion/edge/middleware/bearer-auth";
import { BODY_LIMITS } from "@budgetfusion/edge/middleware/body-limit";
import {
  CHUNK_BYTES,
  countingBody,
  HUNDRED_MB,
  unreadableBody,
} from "@budgetfusion/test-helpers/request-bodies";
import { describe, expect, it } from "vitest";
import { ADMIN, type ErrorJson, postJson, registerWorker, registration, WORKER } from "./helpers";

async function expectTooLarge(res: Response, limit: number) {
  expect(res.status).toBe(413);
  const { error } = (await res.json()) as ErrorJson & { error: { details: unknown } };
  expect(error).toMatchObject({ code: "payload_too_large", field: "body" });
  expect(error.details).toEqual({ limit_bytes: limit });
  expect(error.message).toContain(`${limit} bytes`);
}

async function expectUnauthorized(res: Response, challenge: string) {
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toBe(challenge);
  expect(res.headers.get("content-type")).toContain("application/json");
  const { error } = (await res.json()) as ErrorJson;
  expect(error).toMatchObject({ code: "unauthorized", field: "authorization" });
  expect(error.requestId).toBe(res.headers.get("x-request-id"));
}

describe("bearer auth", () => {
  const admin = (headers: Record<string, string>) =>
    SELF.fetch("http://edge/admin/bundles", { headers });
  const register = (headers: Record<string, string>) =>
    SELF.fetch("http://edge/v1/workers/register", {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(registration("w-auth", "ok.fake")),
    });

  it("challenges a request without credentials, naming the realm", async () => {
    await expectUnauthorized(await admin({}), 'Bearer realm="admin"');
    await expectUnauthorized(await register({}), 'Bearer realm="workers"');
  });

  it("treats credentials in another scheme as none (RFC 6750 §3.1)", async () => {
    await expectUnauthorized(
      await admin({ authorization: "Basic dGVzdDp0ZXN0" }),
      'Bearer realm="admin"',
    );
    await expectUnauthorized(await admin({ authorization: "Bearer" }), 'Bearer realm="admin"');
  });

  it("answers a wrong token with error=invalid_token", async () => {
    const challenge = 'Bearer realm="admin",error="invalid_token"';
    await expectUnauthorized(await admin({ authorization: "Bearer test-admin-tokeN" }), challenge);
    await expectUnauthorized(await admin({ authorization: "Bearer test-admin-token2" }), challenge);
    await expectUnauthorized(await admin(WORKER), challenge);
    await expectUnauthorized(await register(ADMIN), 'Bearer realm="workers",error="invalid_token"');
  });

  it("lets the right token through, in any case of the scheme", async () => {
    expect((await admin(ADMIN)).status).toBe(200);
    expect((await admin({ authorization: "bearer test-admin-token" })).status).toBe(200);
    expect((await register(WORKER)).status).toBe(200);
  });

  it("compares tokens by digest, whatever their lengths", async () => {
    expect(await tokensEqual("test-admin-token", "test-admin-token")).toBe(true);
    expect(await tokensEqual("test-admin-token", "test-admin-toke")).toBe(false);
    expect(await tokensEqual("", "x")).toBe(false);
    expect(await tokensEqual("a".repeat(10_000), "a".repeat(10_000))).toBe(true);
  });
});

describe("request id", () => {
  it("echoes a client's X-Request-Id in the header and the error body", async () => {
    const res = await SELF.fetch("http://edge/v2/nothing", {
      headers: { "x-request-id": "trace-42_a=" },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-request-id")).toBe("trace-42_a=");
    expect(((await res.json()) as ErrorJson).error.requestId).toBe("trace-42_a=");
  });

  it("replaces a malformed or overlong id with a fresh UUID, the same in header and body", async () => {
    for (const given of ["has space", "x".repeat(65), "<script>"]) {
      const res = await SELF.fetch("http://edge/v2/nothing", {
        headers: { "x-request-id": given },
      });
      const id = res.headers.get("x-request-id");
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(((await res.json()) as ErrorJson).error.requestId).toBe(id);
    }
  });

  it("gives every request its own id, successes included", async () => {
    const a = await SELF.fetch("http://edge/healthz");
    const b = await SELF.fetch("http://edge/healthz");
    expect(a.status).toBe(200);
    expect(a.headers.get("x-request-id")).toMatch(/.{36}/);
    expect(a.headers.get("x-request-id")).not.toBe(b.headers.get("x-request-id"));
  });
});

describe("body limits", () => {
  it.each([
    ["/v1/budget", BODY_LIMITS.budget, {}],
    ["/v1/generate", BODY_LIMITS.generate, {}],
    ["/v1/workers/register", BODY_LIMITS.workerStatus, WORKER],
    ["/v1/workers/w-1/heartbeat", BODY_LIMITS.workerStatus, WORKER],
  ])(
    "%s refuses a streamed 100 MB body after reading about %i bytes",
    async (path, limit, auth) => {
      const body = countingBody(HUNDRED_MB);
      const req = new Request(`http://edge${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...auth },
        body: body.stream,
      });
      await expectTooLarge(await createApp().fetch(req, env, createExecutionContext()), limit);
      expect(body.pulled()).toBeLessThanOrEqual(limit + CHUNK_BYTES);
    },
  );

  it("stops a streamed body through the runtime too, which then drops the rest", async () => {
    // workerd logs "Network connection lost" for the unread rest of the body: that is the point.
    const body = countingBody(HUNDRED_MB);
    const res = await SELF.fetch("http://edge/v1/budget", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: body.stream,
    });
    await expectTooLarge(res, BODY_LIMITS.budget);
    // The limit plus what the runtime buffers in flight, not the 100 MB.
    expect(body.pulled()).toBeLessThan(BODY_LIMITS.budget + 4 * CHUNK_BYTES);
  });

  it("refuses a declared Content-Length over the limit without reading a byte", async () => {
    const req = new Request("http://edge/v1/budget", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(HUNDRED_MB) },
      body: unreadableBody(),
    });
    await expectTooLarge(await createApp().fetch(req, env, createExecutionContext()), 16384);
  });

  it("takes the largest valid bodies (every character JSON-escaped to 6 bytes)", async () => {
    const prompt = "\u0001".repeat(2000);
    const budget = { prompt, min_steps: 1, max_steps: 129, quality: 0.95, include_curves: true };
    expect(JSON.stringify(budget).length).toBeGreaterThan(12_000);
    expect(JSON.stringify(budget).length).toBeLessThan(BODY_LIMITS.budget);
    // Past the limit and validation: only the missing predictor stops it.
    const b = await postJson("/v1/budget", budget);
    expect(((await b.json()) as ErrorJson).error.code).toBe("not_ready");
    const generate = { prompt, negative_prompt: prompt, steps: 20, seed: 1, width: 64, height: 64 };
    expect(JSON.stringify(generate).length).toBeLessThan(BODY_LIMITS.generate);
    // Accepted (202), or already done (200) when the fake worker answers first.
    await registerWorker("w-boundary", "ok-boundary.fake", 1);
    expect([200, 202]).toContain((await postJson("/v1/generate", generate)).status);
  });

  it("limits bundle uploads by the BUNDLE_UPLOAD_MAX_BYTES setting, 32 MiB by default", async () => {
    expect(env.BUNDLE_UPLOAD_MAX_BYTES).toBe(String(32 * 1024 * 1024));
    const upload = (stream: ReadableStream<Uint8Array>) =>
      new Request("http://edge/admin/bundles", {
        method: "POST",
        headers: { ...ADMIN, "content-type": "multipart/form-data; boundary=x" },
        body: stream,
      });
    const small = { ...env, BUNDLE_UPLOAD_MAX_BYTES: "100000" };
    const body = countingBody(HUNDRED_MB);
    const res = await createApp().fetch(upload(body.stream), small, createExecutionContext());
    await expectTooLarge(res, 100_000);
    expect(body.pulled()).toBeLessThanOrEqual(100_000 + CHUNK_BYTES);
    // The guard runs first: without the admin token nothing is read at all.
    const anonymous = new Request("http://edge/admin/bundles", {
      method: "POST",
      body: unreadableBody(),
    });
    const refused = await createApp().fetch(anonymous, small, createExecutionContext());
    expect(refused.status).toBe(401);
  });
});

describe("content types", () => {
  async function expectUnsupported(res: Response) {
    expect(res.status).toBe(415);
    const { error } = (await res.json()) as ErrorJson;
    expect(error).toMatchObject({ code: "unsupported_media_type", field: "content-type" });
    expect(error.message).toContain("application/json");
  }
  const send = (path: string, body: BodyInit, headers: Record<string, string>) =>
    SELF.fetch(`http://edge${path}`, { method: "POST", headers, body });

  it.each([
    ["/v1/budget", { "content-type": "text/plain" }],
    ["/v1/budget", { "content-type": "application/x-www-form-urlencoded" }],
    ["/v1/generate", { "content-type": "multipart/form-data; boundary=x" }],
    ["/v1/workers/register", { ...WORKER, "content-type": "text/plain" }],
  ])("%s with %j is a 415 naming content-type", async (path, headers) => {
    await expectUnsupported(await send(path, '{"prompt":"a"}', headers));
  });

  it("a body without any content type is a 415 too", async () => {
    const bytes = new TextEncoder().encode('{"prompt":"a"}');
    const res = await send("/v1/budget", bytes, {});
    expect(res.headers.get("content-type")).toContain("application/json");
    await expectUnsupported(res);
  });

  it("accepts JSON with parameters", async () => {
    const res = await send("/v1/budget", '{"prompt":"a"}', {
      "content-type": "application/json; charset=utf-8",
    });
    expect(((await res.json()) as ErrorJson).error.code).toBe("not_ready");
  });
});

describe("methods", () => {
  async function expectAllowed(res: Response, allowed: string[]) {
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")?.split(", ").sort()).toEqual([...allowed].sort());
    const { error } = (await res.json()) as ErrorJson;
    expect(error.code).toBe("method_not_allowed");
    expect(error.requestId).toBe(res.headers.get("x-request-id"));
  }
  const call = (method: string, path: string, headers: Record<string, string> = {}) =>
    SELF.fetch(`http://edge${path}`, { method, headers });

  it.each([
    ["GET", "/v1/budget", ["POST"]],
    ["PUT", "/v1/generate", ["POST"]],
    ["PUT", `/v1/jobs/${crypto.randomUUID()}`, ["DELETE", "GET", "HEAD"]],
    ["POST", "/healthz", ["GET", "HEAD"]],
    ["POST", "/", ["GET", "HEAD"]],
    ["POST", "/openapi.json", ["GET", "HEAD"]],
  ])("%s %s is a 405 allowing %j", async (method, path, allowed) => {
    await expectAllowed(await call(method, path), allowed);
  });

  it("guarded paths check the token before the method", async () => {
    expect((await call("GET", "/admin/bundles/v1/activate")).status).toBe(401);
    await expectAllowed(await call("GET", "/admin/bundles/v1/activate", ADMIN), ["POST"]);
    await expectAllowed(await call("DELETE", "/admin/bundles", ADMIN), ["GET", "HEAD", "POST"]);
    await expectAllowed(await call("GET", "/v1/workers/w-1/heartbeat", WORKER), ["POST"]);
  });

  it("unknown paths stay 404 and HEAD is served where GET is", async () => {
    expect((await call("GET", "/v2/nothing")).status).toBe(404);
    expect((await call("POST", "/v1/budgets")).status).toBe(404);
    expect((await call("HEAD", "/healthz")).status).toBe(200);
  });
});

describe("the page's secure headers", () => {
  it("allows only its own nonce-tagged script and style, and fetches to its own origin", async () => {
    const res = await SELF.fetch("http://edge/");
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    expect(nonce).toBeDefined();
    const directives = Object.fromEntries(
      csp.split("; ").map((d) => [d.split(" ")[0], d.split(" ").slice(1).join(" ")]),
    );
    expect(directives).toEqual({
      "default-src": "'none'",
      "script-src": `'nonce-${nonce}'`,
      "style-src": `'nonce-${nonce}'`,
      "connect-src": "'self'",
      "img-src": "blob:",
      "base-uri": "'none'",
      "form-action": "'none'",
      "frame-ancestors": "'none'",
    });
    expect(csp).not.toContain("unsafe-inline");
    const html = await res.text();
    // Every inline script and style carries this request's nonce, and nothing else is inline.
    expect(html.match(/<script[^>]*>/g)).toEqual([`<script nonce="${nonce}">`]);
    expect(html.match(/<style[^>]*>/g)).toEqual([`<style nonce="${nonce}">`]);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/\sstyle=/i);
  });

  it("sends hono's secure headers, with a fresh nonce per request", async () => {
    const [a, b] = await Promise.all([SELF.fetch("http://edge/"), SELF.fetch("http://edge/")]);
    for (const [name, value] of [
      ["x-content-type-options", "nosniff"],
      ["x-frame-options", "SAMEORIGIN"],
      ["referrer-policy", "no-referrer"],
      ["cross-origin-opener-policy", "same-origin"],
      ["strict-transport-security", "max-age=15552000; includeSubDomains"],
    ]) {
      expect(a.headers.get(name)).toBe(value);
    }
    expect(a.headers.get("content-security-policy")).not.toBe(
      b.headers.get("content-security-policy"),
    );
    await Promise.all([a.text(), b.text()]);
  });
});
