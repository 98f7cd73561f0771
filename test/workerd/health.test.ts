/** Liveness and readiness (readiness = an active predictor version that loads). */
import { env, SELF } from "cloudflare:test";
import { forgetActiveVersion } from "@budgetfusion/edge/predictor/active-predictor";
import { describe, expect, it } from "vitest";

describe("health", () => {
  it("healthz answers ok", async () => {
    const res = await SELF.fetch("http://edge/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
  it("readyz is 503 not_ready while no version is active", async () => {
    // Independent of test-file order: no activation in D1, none cached in this isolate.
    await env.DB.exec("DELETE FROM activations");
    forgetActiveVersion();
    const res = await SELF.fetch("http://edge/readyz");
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe("not_ready");
  });
});
