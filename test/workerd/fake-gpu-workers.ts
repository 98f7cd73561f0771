/**
 * Fake GPU workers for the workerd tests, served from Node through miniflare's outboundService:
 * every fetch the edge (and its dispatcher Durable Object) makes lands here. Behaviour is chosen
 * by host name, so one test can mix healthy, full, dead and dying workers:
 *   ok-*.fake      200 image/png with x-bf-* headers; /v1/embed answers fakeEmbedding(width 24)
 *   full.fake      429 + Retry-After: 30 (queue full)
 *   down.fake      connection refused (the fetch rejects)
 *   dies.fake      200 whose body breaks off after a few bytes (worker died mid-response)
 *   error.fake     500
 *   bad-request.fake 400 (the worker rejects the request: not retried)
 *   fixtures.fake/<path>   files of the built fixture bundles (global-setup.ts)
 *   control.fake/calls     GET: the calls so far as JSON; DELETE: clear them
 */
import { readFile } from "node:fs/promises";
import { join, normalize } from "node:path";
import { encode } from "fast-png";
import { fakeEmbedding } from "./fake-embedding";

export const FAKE_EMBED_MODEL = "fake-clip-24";
export const FAKE_EMBED_WIDTH = 24;

interface Call {
  host: string;
  path: string;
  body: unknown;
}

const calls: Call[] = [];
const PNG = Uint8Array.from(
  encode({
    width: 2,
    height: 2,
    data: new Uint8Array([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 9, 9, 9, 255]),
  }),
);

function json(value: unknown, status = 200, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

export function fakeOutbound(fixtureRoot: string) {
  return async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const host = url.hostname;
    if (host === "control.fake") {
      if (request.method === "DELETE") calls.length = 0;
      return json(calls);
    }
    if (host === "fixtures.fake") {
      const path = normalize(decodeURIComponent(url.pathname)).replace(/^\/+/, "");
      if (path.startsWith("..")) return new Response("bad path", { status: 400 });
      return new Response(await readFile(join(fixtureRoot, path)));
    }
    const text = request.method === "POST" ? await request.text() : "";
    const body = text === "" ? undefined : (JSON.parse(text) as Record<string, unknown>);
    calls.push({ host, path: url.pathname, body });
    if (host === "down.fake") throw new Error("connect ECONNREFUSED (fake worker is down)");
    if (host === "full.fake")
      return json({ error: { code: "queue_full" } }, 429, { "retry-after": "30" });
    if (host === "error.fake") return json({ error: { code: "internal_error" } }, 500);
    if (host === "bad-request.fake") return json({ error: { code: "invalid_request" } }, 400);
    if (url.pathname === "/v1/embed") {
      const texts = (body?.texts as string[]) ?? [];
      return json({
        model_id: FAKE_EMBED_MODEL,
        width: FAKE_EMBED_WIDTH,
        embeddings: texts.map((t) => Array.from(fakeEmbedding(t, FAKE_EMBED_WIDTH))),
      });
    }
    if (url.pathname === "/v1/generate") {
      const headers = {
        "content-type": "image/png",
        "x-bf-steps": String(body?.steps),
        "x-bf-seed": String(body?.seed),
        "x-bf-model": "tiny-sd2",
        "x-bf-timings": JSON.stringify({ total_ms: 12, unet_ms: 10 }),
      };
      if (host === "dies.fake") {
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(PNG.subarray(0, 8));
            controller.error(new Error("worker process died"));
          },
        });
        return new Response(stream, { headers });
      }
      return new Response(PNG, { headers });
    }
    return json({ error: { code: "not_found" } }, 404);
  };
}
