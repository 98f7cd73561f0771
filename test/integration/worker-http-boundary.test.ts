/**
 * The GPU worker's HTTP boundary, built from hono's own middleware (through app.request with the
 * fake pipeline): request ids (hono/request-id) echoed in the header and in every error body,
 * which is the edge's error body (shared/src/schemas/error-body.ts).
 */
import { errorBodySchema } from "@budgetfusion/shared/schemas/error-body";
import { describe, expect, it } from "vitest";
import { createApp } from "../../gpu-worker/src/app";
import { fakeDeps, postJson } from "./worker-fakes";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

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
