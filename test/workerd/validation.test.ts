/** Every public input is validated; 4xx JSON errors name the field and carry no stack trace. */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type ErrorJson, postJson, registration, WORKER } from "./helpers";

async function fieldOf(res: Response) {
  expect(res.status).toBe(400);
  const body = (await res.json()) as ErrorJson;
  expect(body.error.code).toBe("invalid_request");
  expect(JSON.stringify(body)).not.toMatch(/\n\s+at /);
  return body.error.field;
}

describe("input validation", () => {
  it.each([
    [{}, "prompt"],
    [{ prompt: "" }, "prompt"],
    [{ prompt: 7 }, "prompt"],
    [{ prompt: "x".repeat(2001) }, "prompt"],
    [{ prompt: "a", min_steps: 0 }, "min_steps"],
    [{ prompt: "a", max_steps: 130 }, "max_steps"],
    [{ prompt: "a", min_steps: 20, max_steps: 10 }, "min_steps"],
    [{ prompt: "a", quality: 1.5 }, "quality"],
    [{ prompt: "a", quality: 0 }, "quality"],
    [{ prompt: "a", include_curves: "yes" }, "include_curves"],
    [{ prompt: "a", bogus: 1 }, "bogus"],
  ])("/v1/budget %j -> field %s", async (body, field) => {
    expect(await fieldOf(await postJson("/v1/budget", body))).toBe(field);
  });

  it.each([
    [{ prompt: "a", steps: 0 }, "steps"],
    [{ prompt: "a", steps: "many" }, "steps"],
    [{ prompt: "a", steps: 2.5 }, "steps"],
    [{ prompt: "a", width: 100 }, "width"],
    [{ prompt: "a", height: 4096 }, "height"],
    [{ prompt: "a", seed: -1 }, "seed"],
    [{ prompt: "a", guidance_scale: 99 }, "guidance_scale"],
    [{ prompt: "a", negative_prompt: 3 }, "negative_prompt"],
  ])("/v1/generate %j -> field %s", async (body, field) => {
    expect(await fieldOf(await postJson("/v1/generate", body))).toBe(field);
  });

  it("?wait must be a number in [0, 120]", async () => {
    expect(await fieldOf(await postJson("/v1/generate?wait=abc", { prompt: "a", steps: 2 }))).toBe(
      "wait",
    );
    expect(await fieldOf(await postJson("/v1/generate?wait=500", { prompt: "a", steps: 2 }))).toBe(
      "wait",
    );
  });

  it("malformed JSON names the body", async () => {
    const res = await SELF.fetch("http://edge/v1/budget", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"prompt": ',
    });
    expect(await fieldOf(res)).toBe("body");
  });

  it("a non-JSON content type is rejected with 415, not ignored", async () => {
    const res = await SELF.fetch("http://edge/v1/budget", { method: "POST", body: "prompt=a" });
    expect(res.status).toBe(415);
    expect(((await res.json()) as ErrorJson).error).toMatchObject({
      code: "unsupported_media_type",
      field: "content-type",
    });
  });

  it("job ids are UUIDs", async () => {
    expect(await fieldOf(await SELF.fetch("http://edge/v1/jobs/not-a-uuid"))).toBe("id");
    const missing = await SELF.fetch(`http://edge/v1/jobs/${crypto.randomUUID()}`);
    expect(missing.status).toBe(404);
  });

  it("worker registration fields are named", async () => {
    const bad = { ...registration("w-1", "ok.fake"), capacity: 0 };
    expect(await fieldOf(await postJson("/v1/workers/register", bad, WORKER))).toBe("capacity");
    const badUrl = { ...registration("w-1", "ok.fake"), url: "ftp://x" };
    expect(await fieldOf(await postJson("/v1/workers/register", badUrl, WORKER))).toBe("url");
  });

  it("unknown routes are 404 JSON", async () => {
    const res = await SELF.fetch("http://edge/v2/nothing");
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorJson).error.code).toBe("not_found");
  });

  it("serves an OpenAPI 3.1 document naming every public route", async () => {
    const doc = (await (await SELF.fetch("http://edge/openapi.json")).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toBe("3.1.0");
    for (const p of [
      "/v1/budget",
      "/v1/generate",
      "/v1/jobs/{id}",
      "/v1/images/{id}",
      "/v1/workers/register",
      "/admin/bundles",
      "/healthz",
      "/readyz",
    ]) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
  });
});
