/**
 * Prometheus metrics of the worker (SPEC §7 "metrics endpoint"), on a registry per app instance
 * so tests and multiple apps in one process never share counters.
 */
import type { CallRecord } from "@budgetfusion/inference/batching/batch-engine";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface WorkerMetrics {
  readonly registry: Registry;
  readonly requests: Counter<"route" | "status">;
  /** Per UNet call: its wall time, labelled with its rows. */
  readonly stepSeconds: Histogram<"batch_size">;
  /** Per UNet call: rows (samples; a CFG pair is two). */
  readonly batchSize: Histogram;
  readonly imageSeconds: Histogram;
}

/** `queue` supplies live depth and in-flight counts at scrape time. */
export function createMetrics(queue: { depth: number; inFlight: number }): WorkerMetrics {
  const registry = new Registry();
  const requests = new Counter({
    name: "bf_worker_requests_total",
    help: "HTTP requests by route and status code",
    labelNames: ["route", "status"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "bf_worker_queue_depth",
    help: "Generations waiting for a slot",
    registers: [registry],
    collect() {
      this.set(queue.depth);
    },
  });
  new Gauge({
    name: "bf_worker_in_flight",
    help: "Generations running",
    registers: [registry],
    collect() {
      this.set(queue.inFlight);
    },
  });
  const stepSeconds = new Histogram({
    name: "bf_worker_step_seconds",
    help: "Wall time of one batched UNet call (one denoising step of every member), by its rows",
    labelNames: ["batch_size"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: "bf_worker_batch_size",
    help: "UNet rows per call in the running batch (samples; a CFG pair counts two)",
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [registry],
  });
  const imageSeconds = new Histogram({
    name: "bf_worker_image_seconds",
    help: "Wall time of one generation request, queue wait excluded",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  return { registry, requests, stepSeconds, batchSize, imageSeconds };
}

/** The batching engine's onCall hook: one UNet call of `rows` rows that took `ms`. */
export function recordUnetCall(metrics: WorkerMetrics, call: CallRecord): void {
  metrics.batchSize.observe(call.rows);
  metrics.stepSeconds.observe({ batch_size: String(call.rows) }, call.ms / 1000);
}
