import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

describe("health", () => {
  it("healthz answers ok", async () => {
    const res = await SELF.fetch("http://edge/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
  it("readyz is 503 not_ready before any activation", async () => {
    const res = await SELF.fetch("http://edge/readyz");
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe("not_ready");
  });
});
