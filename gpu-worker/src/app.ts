/**
 * The GPU worker's HTTP app (SPEC §7): assembly only — request metrics, routes, one error
 * handler. Built from injected deps so tests drive it with app.request and fake pipelines.
 */
import { NotFoundError } from "@budgetfusion/shared/errors";
import { Hono } from "hono";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId } from "hono/request-id";
import { requireWorkerToken } from "./auth";
import { errorResponse, handleError, refuseMethod } from "./http-errors";
import { JobRegistry } from "./jobs/job-registry";
import { inlinePngEncoder } from "./png/png-encoder";
import type { WorkerDeps } from "./routes/deps";
import { embedHandlers } from "./routes/embed";
import { generateHandlers } from "./routes/generate";
import { jobCancelHandlers, jobEventsHandlers, jobProgressHandlers } from "./routes/jobs";

export type { ImageGenerator, WorkerDeps, WorkerState } from "./routes/deps";

/** Longest client-chosen X-Request-Id kept (the edge's limit); others get a fresh UUID. */
const MAX_REQUEST_ID_CHARS = 64;

export function createApp(given: WorkerDeps): Hono {
  const deps = {
    ...given,
    jobs: given.jobs ?? new JobRegistry(),
    png: given.png ?? inlinePngEncoder,
  };
  const log = deps.log ?? ((msg, err) => console.error(`[gpu-worker] ${msg}`, err));
  const app = new Hono();

  app.use("*", requestId({ limitLength: MAX_REQUEST_ID_CHARS }));

  app.use("*", async (c, next) => {
    await next();
    // routePath is the matched pattern, so unknown paths do not explode label cardinality; when
    // it is this middleware's own "/*" (hono's name for "*"), no route matched the path.
    const route = c.req.routePath === "/*" ? "unmatched" : c.req.routePath;
    deps.metrics.requests.inc({ route, status: String(c.res.status) });
  });
  // A known path asked with another method is a 405 naming the allowed ones, not a 404.
  app.use("*", methodNotAllowed({ app, onMethodNotAllowed: refuseMethod }));

  app.get("/healthz", (c) => c.json({ status: "ok" }));

  // Everything else needs the token: one unauthenticated POST could otherwise occupy or crash
  // the worker (issue 12, finding 1).
  if (deps.authToken !== undefined) app.use("*", requireWorkerToken(deps.authToken));

  app.get("/readyz", (c) => {
    const { generator, embedder, embedConfigured, runtime, draining } = deps.state;
    const loaded = generator !== undefined && (!embedConfigured || embedder !== undefined);
    const ready = loaded && draining !== true;
    const body = {
      status: draining ? "draining" : loaded ? "ready" : "loading",
      model: generator?.modelId ?? null,
      embedding_model: embedder?.modelId ?? null,
      runtime: runtime ?? null,
      queue_depth: deps.queue.depth,
      in_flight: deps.queue.inFlight,
      capacity: deps.queue.capacity,
    };
    if (!ready) c.header("retry-after", "5");
    return c.json(body, ready ? 200 : 503);
  });

  app.get("/metrics", async (c) => {
    const text = await deps.metrics.registry.metrics();
    return c.text(text, 200, { "content-type": deps.metrics.registry.contentType });
  });

  app.post("/v1/generate", ...generateHandlers(deps));
  app.post("/v1/embed", ...embedHandlers(deps));
  app.get("/v1/jobs/:id", ...jobProgressHandlers(deps));
  app.get("/v1/jobs/:id/events", ...jobEventsHandlers(deps));
  app.delete("/v1/jobs/:id", ...jobCancelHandlers(deps));

  app.notFound((c) =>
    errorResponse(c, new NotFoundError(`no route ${c.req.method} ${c.req.path}`)),
  );
  app.onError((err, c) => handleError(err, c, log));

  return app;
}
