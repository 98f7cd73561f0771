/**
 * The edge's HTTP boundary, built from hono's own middleware: request ids (hono/request-id)
 * echoed in the header and in every error body.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ErrorJson } from "./helpers";

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
