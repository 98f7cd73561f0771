/**
 * The edge's HTTP boundary, built from hono's own middleware: request ids (hono/request-id)
 * echoed in the header and in every error body; bearer auth (hono/bearer-auth) answering 401
 * with a WWW-Authenticate challenge and the JSON error body.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { tokensEqual } from "../../edge/src/middleware/bearer-auth";
import { ADMIN, type ErrorJson, registration, WORKER } from "./helpers";

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
