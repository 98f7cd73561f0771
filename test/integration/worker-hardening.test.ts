/**
 * Issue 12, finding 1, on the worker's HTTP app (fake pipeline): every scheduler override is
 * bounded by the shared scheduler schema (num_train_timesteps 1e8 used to grow the heap until V8
 * aborted; beta_end 1e300 made every image NaN), each request's work and memory are bounded
 * (pixel-steps, batch pixels), bodies are JSON only, and every route but /healthz needs the
 * worker's token. The config side (bind address, token required off loopback) is in
 * gpu-worker/src/config.test.ts.
 */
import { createApp } from "@budgetfusion/gpu-worker/app";
import { describe, expect, it } from "vitest";
import { fakeDeps, postJson } from "./worker-fakes";

const OK = { prompt: "a red bicycle", steps: 4, width: 64, height: 64, seed: 7 };
type ErrorJson = { error: { code: string; field: string; message: string } };

describe("scheduler overrides are bounded by the shared scheduler schema", () => {
  it.each([
    [{ num_train_timesteps: 100_000_000 }, "scheduler.num_train_timesteps"],
    [{ num_train_timesteps: 10_000_000 }, "scheduler.num_train_timesteps"],
    [{ beta_end: 1e300 }, "scheduler.beta_end"],
    [{ beta_start: 1 }, "scheduler.beta_start"],
    [{ steps_offset: 1e9 }, "scheduler.steps_offset"],
    [{ sigma_max: 1e30 }, "scheduler.sigma_max"],
  ])("%j -> 400 naming %s, and nothing runs", async (scheduler, field) => {
    const deps = fakeDeps();
    const res = await createApp(deps).request(postJson({ ...OK, scheduler }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorJson).error.field).toBe(field);
    expect(deps.generator.calls).toHaveLength(0);
  });
});

describe("per-request work and memory bounds", () => {
  it("refuses 8 images of 2048x2048 (2.4 GB in the campaign) naming the size", async () => {
    const deps = fakeDeps();
    const body = { ...OK, prompt: Array(8).fill("big"), width: 2048, height: 2048 };
    const res = await createApp(deps).request(postJson(body));
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorJson;
    expect(error.field).toBe("width");
    expect(error.message).toContain("WORKER_MAX_BATCH_PIXELS");
    expect(deps.generator.calls).toHaveLength(0);
  });

  it("refuses one 2048x2048 image at 200 steps (11.7 s of a worker) naming the steps", async () => {
    const deps = fakeDeps();
    const res = await createApp(deps).request(
      postJson({ ...OK, width: 2048, height: 2048, steps: 200 }),
    );
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorJson;
    expect(error.field).toBe("steps");
    expect(error.message).toContain("WORKER_MAX_PIXEL_STEPS");
  });

  it("takes the same image at 50 steps, and honours configured bounds", async () => {
    const big = { ...OK, width: 2048, height: 2048, steps: 50 };
    expect((await createApp(fakeDeps()).request(postJson(big))).status).toBe(200);
    const tight = {
      ...fakeDeps(),
      limits: { maxPixelSteps: 64 * 64 * 4, maxBatchPixels: 64 * 64 },
    };
    expect((await createApp(tight).request(postJson(OK))).status).toBe(200);
    expect((await createApp(tight).request(postJson({ ...OK, steps: 5 }))).status).toBe(400);
  });
});

describe("JSON only", () => {
  it.each([["text/plain"], ["application/x-www-form-urlencoded"], [undefined]])(
    "a cross-site style body as %s is a 415, and nothing runs",
    async (type) => {
      const deps = fakeDeps();
      const res = await createApp(deps).request("http://worker/v1/generate", {
        method: "POST",
        headers: type === undefined ? {} : { "content-type": type },
        body: JSON.stringify({ ...OK, scheduler: { num_train_timesteps: 1e8 } }),
      });
      expect(res.status).toBe(415);
      expect(deps.generator.calls).toHaveLength(0);
    },
  );
});

describe("the worker token", () => {
  const token = "worker-secret-0123456789";
  const app = () => createApp({ ...fakeDeps(), authToken: token });

  it("is not needed for /healthz", async () => {
    expect((await app().request("http://worker/healthz")).status).toBe(200);
  });

  it.each([
    ["GET", "/readyz"],
    ["GET", "/metrics"],
    ["POST", "/v1/generate"],
    ["POST", "/v1/embed"],
  ])(
    "%s %s without it, or with a wrong one, is a 401 naming authorization",
    async (method, path) => {
      const attempts: Record<string, string>[] = [
        {},
        { authorization: "Bearer wrong" },
        { authorization: `Basic ${token}` },
      ];
      for (const headers of attempts) {
        const res = await app().request(`http://worker${path}`, {
          method,
          headers: { "content-type": "application/json", ...headers },
          body: method === "POST" ? JSON.stringify(OK) : undefined,
        });
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="gpu-worker"/);
        expect(((await res.json()) as ErrorJson).error.field).toBe("authorization");
      }
    },
  );

  it("lets a request with it through", async () => {
    const res = await app().request(postJson(OK, { authorization: `Bearer ${token}` }));
    expect(res.status).toBe(200);
  });
});
