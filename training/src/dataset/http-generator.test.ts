import { describe, expect, it } from "vitest";
import { HttpGenerator } from "./http-generator";

const request = {
  prompt: "a red ball",
  steps: 5,
  seed: 7,
  guidanceScale: 7.5,
  width: 64,
  height: 64,
};

function fakeFetch(responses: (() => Response)[]) {
  const calls: { url: string; body: unknown }[] = [];
  const impl = (async (input: URL | RequestInfo, init?: RequestInit) => {
    calls.push({ url: String(input), body: JSON.parse(String(init?.body)) });
    const next = responses.shift();
    if (!next) throw new Error("no more responses");
    return next();
  }) as typeof fetch;
  return { impl, calls };
}

describe("HttpGenerator (GPU worker pool)", () => {
  it("sends the worker API body and returns the PNG bytes", async () => {
    const { impl, calls } = fakeFetch([
      () => new Response(new Uint8Array([137, 80, 78, 71]), { status: 200 }),
    ]);
    const gen = new HttpGenerator({ urls: ["http://w1"], fetchImpl: impl, sleep: async () => {} });
    const res = await gen.generate({ ...request, scheduler: { timestep_spacing: "trailing" } });
    expect([...res.png]).toEqual([137, 80, 78, 71]);
    expect(calls[0]).toEqual({
      url: "http://w1/v1/generate",
      body: {
        prompt: "a red ball",
        steps: 5,
        seed: 7,
        guidance_scale: 7.5,
        width: 64,
        height: 64,
        scheduler: { timestep_spacing: "trailing" },
      },
    });
  });

  it("retries 503 / network errors on the next worker, honouring Retry-After", async () => {
    const sleeps: number[] = [];
    const { impl, calls } = fakeFetch([
      () => new Response("busy", { status: 503, headers: { "retry-after": "3" } }),
      () => {
        throw new TypeError("fetch failed");
      },
      () => new Response(new Uint8Array([1]), { status: 200 }),
    ]);
    const gen = new HttpGenerator({
      urls: ["http://w1", "http://w2"],
      fetchImpl: impl,
      baseBackoffMs: 100,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    await gen.generate(request);
    expect(calls.map((c) => c.url)).toEqual([
      "http://w1/v1/generate",
      "http://w2/v1/generate",
      "http://w1/v1/generate",
    ]);
    expect(sleeps[0]).toBeGreaterThanOrEqual(3000);
    // second backoff: 100 * 2^1 with jitter in [0.5, 1]
    expect(sleeps[1]).toBeGreaterThanOrEqual(100);
    expect(sleeps[1]).toBeLessThanOrEqual(200);
  });

  it("fails at once on a 4xx that is not retryable, and after maxAttempts otherwise", async () => {
    const bad = fakeFetch([() => new Response('{"error":{"field":"steps"}}', { status: 400 })]);
    const gen = new HttpGenerator({
      urls: ["http://w1"],
      fetchImpl: bad.impl,
      sleep: async () => {},
    });
    await expect(gen.generate(request)).rejects.toThrow(/400/);
    expect(bad.calls).toHaveLength(1);
    const down = fakeFetch(
      Array.from({ length: 3 }, () => () => new Response("", { status: 502 })),
    );
    const gen2 = new HttpGenerator({
      urls: ["http://w1"],
      fetchImpl: down.impl,
      maxAttempts: 3,
      sleep: async () => {},
    });
    await expect(gen2.generate(request)).rejects.toThrow(/after 3 attempts/);
  });
});
