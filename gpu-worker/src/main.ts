/**
 * GPU worker entry (`npm run worker:serve`): parse the environment once, start the HTTP server
 * at once (/readyz answers 503 while models load), load the SD pipeline (on the inference thread
 * unless WORKER_INFERENCE_THREAD=0) behind the continuous-batching engine (and the CLIP text model
 * when WORKER_CLIP_DIR is set), register with the edge when configured, and on SIGTERM/SIGINT
 * stop taking work, drain what is queued and running and the webhooks due, then exit.
 */
import { hostname } from "node:os";
import { BatchEngine } from "@budgetfusion/inference/batching/batch-engine";
import { loadClipTextEmbedder } from "@budgetfusion/inference/embedding/clip-text-embedder";
import { defaultHubCache, resolveModel } from "@budgetfusion/inference/hub/resolve-model";
import { SdPipeline } from "@budgetfusion/inference/pipeline/sd-pipeline";
import { NodeOrtPort } from "@budgetfusion/inference/runtime/ort-node";
import { ThreadedNodeOrtPort } from "@budgetfusion/inference/runtime/ort-node-thread";
import { type ServerType, serve } from "@hono/node-server";
import { collectDefaultMetrics } from "prom-client";
import { createApp, type WorkerState } from "./app";
import { parseConfig } from "./config";
import { EdgeClient } from "./edge-client";
import { JobRegistry } from "./jobs/job-registry";
import { WebhookSender } from "./jobs/webhook-sender";
import { createMetrics, recordUnetCall } from "./metrics";
import { ThreadPngEncoder } from "./png/png-encoder";
import { JobQueue } from "./queue/job-queue";

const log = (line: string) => console.error(`[gpu-worker] ${line}`);

/**
 * Stops listening and resolves once every connection has closed: finished jobs may still be
 * writing their responses. Keep-alive connections are closed as soon as they fall idle, so they
 * do not hold the exit for their timeout.
 */
function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    const sweep = setInterval(() => {
      if ("closeIdleConnections" in server) server.closeIdleConnections();
    }, 20);
    server.close(() => {
      clearInterval(sweep);
      resolve();
    });
  });
}

async function main(): Promise<void> {
  const config = parseConfig(process.env, hostname());
  const ortOptions = { intraOpNumThreads: config.intraOpThreads };
  const port = config.inferenceThread
    ? new ThreadedNodeOrtPort(config.executionProviders, ortOptions)
    : new NodeOrtPort(config.executionProviders, ortOptions);
  const queue = new JobQueue({ concurrency: config.concurrency, queueLimit: config.queueLimit });
  const metrics = createMetrics(queue);
  collectDefaultMetrics({ register: metrics.registry });
  const state: WorkerState = { embedConfigured: config.clipDir !== undefined, runtime: port.name };
  const webhooks =
    config.webhookSecret === undefined
      ? undefined
      : new WebhookSender(config.webhookSecret, {
          onDelivery: (event, url, r) => {
            if (!r.delivered) {
              log(
                `webhook ${event} to ${url} not delivered after ${r.attempts} attempt(s): ${r.error ?? `HTTP ${r.status}`}`,
              );
            }
          },
        });
  const png = new ThreadPngEncoder();
  const jobs = new JobRegistry();
  const app = createApp({
    state,
    queue,
    jobs,
    png,
    webhooks,
    metrics,
    requestTimeoutMs: config.requestTimeoutMs,
    authToken: config.authToken,
    limits: config.limits,
    log: (msg, err) =>
      log(`${msg}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
  });
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) =>
    log(
      `listening on ${config.host}:${info.port} (${port.name}, providers ${config.executionProviders.join(",")})`,
    ),
  );

  let edge: EdgeClient | undefined;
  let pipeline: SdPipeline | undefined;
  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    state.draining = true;
    log(`${signal}: draining ${queue.inFlight} running and ${queue.depth} queued job(s)`);
    edge?.stop();
    await queue.drain();
    await edge?.deregister();
    await webhooks?.idle();
    await closeServer(server);
    await png.close();
    await pipeline?.dispose();
    log("drained, exiting");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));

  const started = performance.now();
  const model = await resolveModel(config.modelDir, {
    cacheDir: defaultHubCache(config.hfHome),
    token: config.hfToken,
    log,
  });
  pipeline = await SdPipeline.load(port, model);
  if (config.clipDir !== undefined) {
    state.embedder = await loadClipTextEmbedder(port, config.clipDir);
  }
  state.generator = new BatchEngine(pipeline, {
    limits: { maxSamples: config.maxBatchSamples, maxPixels: config.maxBatchPixels },
    onCall: (call) => recordUnetCall(metrics, call),
    log: (msg, err) => log(`${msg}: ${String(err)}`),
  });
  log(`model ${pipeline.modelId} ready in ${(performance.now() - started).toFixed(0)} ms`);

  if (config.edge !== undefined) {
    const modelId = pipeline.modelId;
    edge = new EdgeClient({
      edgeUrl: config.edge.url,
      token: config.edge.token,
      log,
      status: () => ({
        worker_id: config.workerId,
        url: config.publicUrl,
        model_id: modelId,
        capacity: config.concurrency,
        queue_depth: queue.depth,
        in_flight: queue.inFlight,
        job_ids: jobs.reportedIds(),
      }),
    });
    edge.start();
  } else {
    log("standalone (EDGE_URL / WORKER_TOKEN not set)");
  }
}

main().catch((err: unknown) => {
  log(`fatal: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
