/**
 * The GPU worker's HTTP boundary, built from hono's own middleware (through app.request with the
 * fake pipeline): request ids (hono/request-id) echoed in the header and in every error body,
 * which is the edge's error body (shared/src/schemas/error-body.ts); body limits
 * (hono/body-limit) answering 413 with the limit named, without reading an oversized body;
 * 415 naming content-type for a body that is not JSON; 405 with Allow (hono/method-not-allowed)
 * for a known path asked with another method.
 */

import { createApp } from "@budgetfusion/gpu-worker/app";
import { BODY_LIMITS } from "@budgetfusion/gpu-worker/routes/body-limit";
import { errorBodySchema } from "@budgetfusion/shared/schemas/error-body";
import { MAX_BATCH, MAX_EMBED_TEXTS } from "@budgetfusion/shared/schemas/worker-api";
import {
  CHUNK_BYTES,
  countingBody,
  HUNDRED_MB,
  unreadableBody,
} from "@budgetfusion/test-helpers/request-bodies";
import { describe, expect, it } from "vitest";
import { fakeDeps, postJson } from "./worker-fakes";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function post(path: string, body: BodyInit, headers: Record<string, string> = {}) {
  return new Request(`http://worker${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
    duplex: "half",
  } as RequestInit);
}

async function expectTooLarge(res: Response, limit: number) {
  expect(res.status).toBe(413);
  const { error } = errorBodySchema.parse(await res.json());
  expect(error).toMatchObject({ code: "payload_too_large", field: "body" });
  expect(error.details).toEqual({ limit_bytes: limit });
  expect(error.message).toContain(`${limit} bytes`);
}

describe("request id and error body", () => {
  const app = createApp(fakeDeps());

  it("echoes a client's X-Request-Id in the header and the error body", async () => {
    const res = await app.request(postJson({ steps: 4 }, { "x-request-id": "edge-job-7" }));
    expect(res.status).toBe(400);
    expect(res.headers.get("x-request-id")).toBe("edge-job-7");
    const body = errorBodySchema.parse(await res.json());
    expect(body.error).toMatchObject({ code: "invalid_request", field: "prompt" });
    expect(body.error.requestId).toBe("edge-job-7");
  });

  it("lists every issue in details with its zod code", async () => {
    const res = await app.request(postJson({ prompt: 3, steps: 0 }));
    const { error } = errorBodySchema.parse(await res.json());
    expect(error.details).toEqual([
      expect.objectContaining({ field: "prompt", code: "invalid_union" }),
      expect.objectContaining({ field: "steps", code: "too_small" }),
    ]);
  });

  it("replaces a malformed id with a fresh UUID, the same in header and body", async () => {
    const res = await app.request("/v2/nothing", { headers: { "x-request-id": "a b" } });
    expect(res.status).toBe(404);
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(UUID);
    expect(errorBodySchema.parse(await res.json()).error.requestId).toBe(id);
  });

  it("sets an id on successful answers too", async () => {
    const res = await app.request("/healthz");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toMatch(UUID);
  });
});

describe("body limits", () => {
  const app = createApp(fakeDeps());

  it.each([
    ["/v1/generate", BODY_LIMITS.generate],
    ["/v1/embed", BODY_LIMITS.embed],
  ])("%s refuses a streamed 100 MB body after reading about %i bytes", async (path, limit) => {
    const body = countingBody(HUNDRED_MB);
    await expectTooLarge(await app.request(post(path, body.stream)), limit);
    expect(body.pulled()).toBeLessThanOrEqual(limit + CHUNK_BYTES);
  });

  it("refuses a declared Content-Length over the limit without reading a byte", async () => {
    const req = post("/v1/generate", unreadableBody(), { "content-length": String(HUNDRED_MB) });
    await expectTooLarge(await app.request(req), BODY_LIMITS.generate);
  });

  it("takes the largest valid bodies (every character JSON-escaped to 6 bytes)", async () => {
    const text = "\u0001".repeat(2000);
    const generate = {
      prompt: Array(MAX_BATCH).fill(text),
      negative_prompt: text,
      steps: 200,
      guidance_scale: 7.5,
      seed: 4294967295,
      width: 64,
      height: 64,
      scheduler: { timestep_spacing: "trailing", prediction_type: "v_prediction" },
    };
    const generateBytes = JSON.stringify(generate).length;
    expect(generateBytes).toBeGreaterThan(100_000);
    expect(generateBytes).toBeLessThan(BODY_LIMITS.generate);
    const g = await app.request(post("/v1/generate", JSON.stringify(generate)));
    expect(g.status).toBe(200);
    const embed = { texts: Array(MAX_EMBED_TEXTS).fill(text) };
    expect(JSON.stringify(embed).length).toBeLessThan(BODY_LIMITS.embed);
    // Past the limit and validation: only the missing CLIP model stops it.
    const e = await app.request(post("/v1/embed", JSON.stringify(embed)));
    expect(errorBodySchema.parse(await e.json()).error.code).toBe("not_configured");
  });
});

describe("content types", () => {
  const deps = fakeDeps();
  const app = createApp(deps);

  it.each([
    ["/v1/generate", "text/plain;charset=UTF-8"],
    ["/v1/generate", "application/x-www-form-urlencoded"],
    ["/v1/embed", "multipart/form-data; boundary=x"],
  ])("%s with %s is a 415 naming content-type", async (path, type) => {
    const res = await app.request(post(path, '{"texts":["a"]}', { "content-type": type }));
    expect(res.status).toBe(415);
    const { error } = errorBodySchema.parse(await res.json());
    expect(error).toMatchObject({ code: "unsupported_media_type", field: "content-type" });
    expect(error.message).toContain(type);
    expect(error.message).toContain("application/json");
  });

  it("a body without any content type is a 415, and nothing is queued", async () => {
    const res = await app.request("/v1/generate", {
      method: "POST",
      body: new TextEncoder().encode(JSON.stringify({ prompt: "a", steps: 2 })),
    });
    expect(res.status).toBe(415);
    expect(errorBodySchema.parse(await res.json()).error.message).toContain("missing");
    expect(deps.generator.calls).toHaveLength(0);
  });

  it("accepts JSON with parameters and +json types", async () => {
    for (const type of ["application/json; charset=utf-8", "application/vnd.bf+json"]) {
      const res = await app.request(
        post("/v1/generate", '{"prompt":"a","steps":2}', { "content-type": type }),
      );
      expect(res.status).toBe(200);
    }
  });
});

describe("methods", () => {
  const app = createApp(fakeDeps());

  it.each([
    ["GET", "/v1/generate", ["POST"]],
    ["PUT", "/v1/embed", ["POST"]],
    ["POST", "/healthz", ["GET", "HEAD"]],
    ["DELETE", "/metrics", ["GET", "HEAD"]],
  ])("%s %s is a 405 allowing %j", async (method, path, allowed) => {
    const res = await app.request(path, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")?.split(", ").sort()).toEqual([...allowed].sort());
    const { error } = errorBodySchema.parse(await res.json());
    expect(error.code).toBe("method_not_allowed");
    expect(error.requestId).toBe(res.headers.get("x-request-id"));
  });

  it("unknown paths stay 404; 404s and 405s are counted apart from the routes", async () => {
    const fresh = createApp(fakeDeps());
    expect((await fresh.request("/v1/generates", { method: "POST" })).status).toBe(404);
    expect((await fresh.request("/v1/generate", { method: "GET" })).status).toBe(405);
    expect((await fresh.request("/readyz", { method: "HEAD" })).status).toBe(200);
    const text = await (await fresh.request("/metrics")).text();
    expect(text).toContain('bf_worker_requests_total{route="unmatched",status="404"} 1');
    expect(text).toContain('bf_worker_requests_total{route="unmatched",status="405"} 1');
    expect(text).toContain('bf_worker_requests_total{route="/readyz",status="200"} 1');
  });
});
