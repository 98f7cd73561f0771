/**
 * The GPU worker's HTTP contract (SPEC §7) through app.request with a fake pipeline: validation
 * 400s naming the field, PNG vs JSON responses, 429 + Retry-After when the queue is full, 504 on
 * timeout, cancellation when the client goes away, readiness and Prometheus metrics.
 */

import { createApp } from "@budgetfusion/gpu-worker/app";
import { decodePngToRgb } from "@budgetfusion/shared/image/png-image";
import { describe, expect, it } from "vitest";
import { fakeDeps, postJson, until } from "./worker-fakes";

const OK = { prompt: "a red bicycle", steps: 4, width: 64, height: 64, seed: 7 };

describe("POST /v1/generate validation", () => {
  const app = createApp(fakeDeps());
  it.each([
    [{ ...OK, steps: 0 }, "steps"],
    [{ ...OK, steps: 201 }, "steps"],
    [{ ...OK, steps: 2.5 }, "steps"],
    [{ ...OK, width: 100 }, "width"],
    [{ ...OK, height: 56 }, "height"],
    [{ ...OK, height: 2056 }, "height"],
    [{ ...OK, guidance_scale: 31 }, "guidance_scale"],
    [{ ...OK, prompt: "x".repeat(2001) }, "prompt"],
    [{ ...OK, prompt: Array(9).fill("x") }, "prompt"],
    [{ ...OK, prompt: ["ok", 3] }, "prompt"],
    [{ ...OK, seed: -1 }, "seed"],
    [{ ...OK, negative_prompt: 5 }, "negative_prompt"],
    [{ ...OK, colour: "red" }, "colour"],
    [{ steps: 4 }, "prompt"],
    [{ ...OK, scheduler: { timestep_spacing: "sideways" } }, "scheduler.timestep_spacing"],
  ])("%j -> 400 naming %s", async (body, field) => {
    const res = await app.request(postJson(body));
    expect(res.status).toBe(400);
    const json = (await res.json()) as { error: { code: string; field: string; message: string } };
    expect(json.error.code).toBe("invalid_request");
    expect(json.error.field).toBe(field);
    expect(json.error.message).not.toMatch(/\n\s+at /);
  });

  it("rejects a body that is not JSON", async () => {
    const res = await app.request("http://worker/v1/generate", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe("body");
  });
});

describe("POST /v1/generate responses", () => {
  it("answers image/png with metadata headers", async () => {
    const deps = fakeDeps();
    const res = await createApp(deps).request(postJson(OK));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("x-bf-steps")).toBe("4");
    expect(res.headers.get("x-bf-seed")).toBe("7");
    expect(res.headers.get("x-bf-model")).toBe("fake-sd");
    const timings = JSON.parse(res.headers.get("x-bf-timings") ?? "{}");
    expect(Object.keys(timings).sort()).toEqual(
      ["queue_ms", "text_ms", "total_ms", "unet_ms", "vae_ms"].sort(),
    );
    expect([timings.text_ms, timings.unet_ms, timings.vae_ms]).toEqual([1, 2, 3]);
    const img = decodePngToRgb(new Uint8Array(await res.arrayBuffer()));
    expect([img.width, img.height]).toEqual([64, 64]);
    expect(img.data.every((v) => v === 0)).toBe(true); // image 0 of the fake is 0
    expect(deps.generator.calls[0]).toMatchObject({
      prompts: ["a red bicycle"],
      steps: 4,
      guidanceScale: 7.5, // default
      seed: 7,
    });
  });

  it("answers JSON with every image of a batch when asked, defaulting size and seed", async () => {
    const deps = fakeDeps();
    const res = await createApp(deps).request(
      postJson({ prompt: ["a", "b"], steps: 2 }, { accept: "application/json" }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      image_base64: string;
      images_base64: string[];
      seed: number;
      steps: number;
      model: string;
    };
    expect([body.seed, body.steps, body.model]).toEqual([1234, 2, "fake-sd"]);
    expect(body.images_base64).toHaveLength(2);
    expect(body.image_base64).toBe(body.images_base64[0]);
    const second = decodePngToRgb(new Uint8Array(Buffer.from(body.images_base64[1], "base64")));
    expect([second.width, second.height]).toEqual([64, 64]); // the model's default size
    expect(Math.round(second.data[0] * 255)).toBe(32); // 1/8 * 255 = 31.9
  });
});

describe("queueing", () => {
  it("answers 429 with Retry-After and a JSON error when the queue is full", async () => {
    const deps = fakeDeps({ concurrency: 1, queueLimit: 1 });
    const app = createApp(deps);
    deps.generator.block();
    const running = app.request(postJson(OK));
    await until(() => deps.queue.inFlight === 1);
    const waiting = app.request(postJson(OK));
    await until(() => deps.queue.depth === 1);
    const full = await app.request(postJson(OK));
    expect(full.status).toBe(429);
    expect(Number(full.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await full.json()) as { error: { code: string } }).error.code).toBe("queue_full");
    deps.generator.release();
    expect((await running).status).toBe(200);
    expect((await waiting).status).toBe(200);
  });

  it("answers 504 when a request exceeds its deadline, and aborts the work", async () => {
    const deps = fakeDeps({ timeoutMs: 30 });
    deps.generator.block();
    const res = await createApp(deps).request(postJson(OK));
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("timeout");
    await until(() => deps.generator.aborted.length === 1);
    deps.generator.release();
  });

  it("cancels queued work when its client disconnects: the pipeline never runs it", async () => {
    const deps = fakeDeps({ concurrency: 1, queueLimit: 2 });
    const app = createApp(deps);
    deps.generator.block();
    const running = app.request(postJson(OK));
    await until(() => deps.queue.inFlight === 1);
    const client = new AbortController();
    const queued = app.request(postJson({ ...OK, seed: 99 }, {}, client.signal));
    await until(() => deps.queue.depth === 1);
    client.abort();
    const res = await queued;
    expect(res.status).toBe(499);
    expect(deps.queue.depth).toBe(0);
    deps.generator.release();
    await running;
    expect(deps.generator.calls.map((c) => c.seed)).toEqual([7]);
  });

  it("aborts running work when its client disconnects", async () => {
    const deps = fakeDeps();
    const app = createApp(deps);
    deps.generator.block();
    const client = new AbortController();
    const req = app.request(postJson(OK, {}, client.signal));
    await until(() => deps.queue.inFlight === 1);
    client.abort();
    expect((await req).status).toBe(499);
    await until(() => deps.generator.aborted.length === 1);
    await until(() => deps.queue.inFlight === 0);
    deps.generator.release();
  });
});

describe("health, readiness, metrics, embed", () => {
  it("is not ready until a generator is loaded", async () => {
    const deps = fakeDeps();
    const { generator } = deps.state;
    deps.state.generator = undefined;
    const app = createApp(deps);
    expect((await app.request("/healthz")).status).toBe(200);
    const notReady = await app.request("/readyz");
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get("retry-after")).toBe("5");
    const gen = await app.request(postJson(OK));
    expect(gen.status).toBe(503);
    expect(((await gen.json()) as { error: { code: string } }).error.code).toBe("not_ready");
    deps.state.generator = generator;
    const ready = await app.request("/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", model: "fake-sd", capacity: 1 });
    deps.state.draining = true;
    const draining = await app.request("/readyz");
    expect(draining.status).toBe(503);
    expect(await draining.json()).toMatchObject({ status: "draining" });
  });

  it("exports Prometheus text with request counts, queue gauges and latency histograms", async () => {
    const deps = fakeDeps();
    const app = createApp(deps);
    await app.request(postJson(OK));
    await app.request(postJson({ ...OK, steps: 0 }));
    const res = await app.request("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toContain('bf_worker_requests_total{route="/v1/generate",status="200"} 1');
    expect(text).toContain('bf_worker_requests_total{route="/v1/generate",status="400"} 1');
    expect(text).toContain("bf_worker_queue_depth 0");
    expect(text).toContain("bf_worker_in_flight 0");
    expect(text).toContain("bf_worker_image_seconds_count 1");
    // Filled by the batching engine's UNet calls (worker-jobs.test.ts), declared from the start.
    expect(text).toContain("# TYPE bf_worker_step_seconds histogram");
    expect(text).toContain("# TYPE bf_worker_batch_size histogram");
  });

  it("answers /v1/embed with 501 when no CLIP model is configured, 400 on bad input", async () => {
    const app = createApp(fakeDeps());
    const post = (body: unknown) =>
      app.request("/v1/embed", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await post({ texts: ["a"] })).status).toBe(501);
    const bad = await post({ texts: Array(65).fill("a") });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe("texts");
    expect((await post({ texts: [] })).status).toBe(400);
  });

  it("answers unknown routes with a JSON 404", async () => {
    const res = await createApp(fakeDeps()).request("/v2/nothing");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });
});
