import { describe, expect, it } from "vitest";
import { EdgeClient } from "./edge-client";

const STATUS = {
  worker_id: "w-1",
  url: "http://10.0.0.5:8788",
  model_id: "tiny-sd2",
  capacity: 2,
  queue_depth: 0,
  in_flight: 1,
};

function recorder(answers: (() => Response)[]) {
  const calls: { url: string; auth: string | null; body: unknown }[] = [];
  const fetchFn = async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({
      url: String(url),
      auth: new Headers(init?.headers).get("authorization"),
      body: init?.body === undefined ? undefined : JSON.parse(String(init.body)),
    });
    const next = answers.shift();
    if (next === undefined) throw new Error("no answer");
    return next();
  };
  return { calls, fetchFn: fetchFn as typeof fetch };
}

describe("EdgeClient", () => {
  it("registers, then heartbeats at the interval the edge gives", async () => {
    const { calls, fetchFn } = recorder([
      () => Response.json({ heartbeat_interval_s: 7 }),
      () => Response.json({ heartbeat_interval_s: 7 }),
    ]);
    const client = new EdgeClient({
      edgeUrl: "https://edge.test",
      token: "secret",
      status: () => STATUS,
      fetch: fetchFn,
    });
    expect(await client.beat()).toBe(7000);
    expect(await client.beat()).toBe(7000);
    expect(calls.map((c) => c.url)).toEqual([
      "https://edge.test/v1/workers/register",
      "https://edge.test/v1/workers/w-1/heartbeat",
    ]);
    expect(calls.every((c) => c.auth === "Bearer secret")).toBe(true);
    expect(calls[1].body).toEqual(STATUS);
  });

  it("defaults the interval to 5 s", async () => {
    const { fetchFn } = recorder([() => Response.json({ ok: true })]);
    const client = new EdgeClient({
      edgeUrl: "https://e",
      token: "t",
      status: () => STATUS,
      fetch: fetchFn,
    });
    expect(await client.beat()).toBe(5000);
  });

  it("backs off exponentially while the edge is down, then registers again", async () => {
    const down = () => {
      throw new TypeError("fetch failed");
    };
    const { calls, fetchFn } = recorder([
      () => Response.json({}),
      () => new Response("gone", { status: 404 }),
      down,
      down,
      () => Response.json({ heartbeat_interval_s: 2 }),
    ]);
    const client = new EdgeClient({
      edgeUrl: "https://e",
      token: "t",
      status: () => STATUS,
      fetch: fetchFn,
      random: () => 1, // no jitter: delays are the backoff bases
    });
    expect(await client.beat()).toBe(5000);
    expect(await client.beat()).toBe(1000); // heartbeat 404: edge forgot us
    expect(await client.beat()).toBe(2000);
    expect(await client.beat()).toBe(4000);
    expect(await client.beat()).toBe(2000);
    expect(calls.map((c) => c.url.replace("https://e", ""))).toEqual([
      "/v1/workers/register",
      "/v1/workers/w-1/heartbeat",
      "/v1/workers/register",
      "/v1/workers/register",
      "/v1/workers/register",
    ]);
  });

  it("logs what the edge said when it refuses, and keeps retrying", async () => {
    const lines: string[] = [];
    const { fetchFn } = recorder([
      () =>
        Response.json(
          { error: { code: "validation", message: "job_ids: expected array", requestId: "r" } },
          { status: 400 },
        ),
      () => new Response("gateway down", { status: 502 }),
    ]);
    const client = new EdgeClient({
      edgeUrl: "https://e",
      token: "t",
      status: () => STATUS,
      fetch: fetchFn,
      log: (l) => lines.push(l),
      random: () => 0.5,
    });
    expect(await client.beat()).toBeGreaterThan(0);
    expect(await client.beat()).toBeGreaterThan(0);
    expect(await client.beat()).toBeGreaterThan(0);
    expect(lines[0]).toMatch(
      /^edge refused \/v1\/workers\/register \(400: job_ids: expected array\); retrying in \d+ ms$/,
    );
    expect(lines[1]).toMatch(/^edge refused \/v1\/workers\/register \(502: gateway down\)/);
    expect(lines[2]).toMatch(/^edge unreachable \(no answer\)/);
  });

  it("deregisters with DELETE and its token, and never throws", async () => {
    const { calls, fetchFn } = recorder([() => new Response(null, { status: 204 })]);
    const lines: string[] = [];
    const client = new EdgeClient({
      edgeUrl: "https://edge.test",
      token: "secret",
      status: () => STATUS,
      fetch: fetchFn,
      log: (l) => lines.push(l),
    });
    await client.deregister();
    expect(calls).toEqual([
      { url: "https://edge.test/v1/workers/w-1", auth: "Bearer secret", body: undefined },
    ]);
    // No answer left: the fetch rejects, and deregister only logs it.
    await expect(client.deregister()).resolves.toBeUndefined();
    expect(lines).toEqual([
      "deregistered from https://edge.test (204)",
      "deregistration failed: no answer",
    ]);
  });
});
