/**
 * A fixed set of worker threads running worker-entry.ts, with one request in flight per worker.
 * The entry is bundled once per process with esbuild (already installed with tsx/wrangler):
 * worker threads cannot load .ts files under tsx (docs/notes/training-in-typescript.md), and bundling
 * at start-up keeps one TypeScript source for both the thread and the main-thread engine.
 */
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { buildSync } from "esbuild";
import type { WorkerReply, WorkerRequest } from "./worker-protocol";

let bundled: string | null = null;

function workerSource(): string {
  if (bundled === null) {
    const entry = fileURLToPath(new URL("./worker-entry.ts", import.meta.url));
    const r = buildSync({
      entryPoints: [entry],
      bundle: true,
      platform: "node",
      format: "cjs",
      write: false,
      logLevel: "silent",
    });
    bundled = r.outputFiles[0].text;
  }
  return bundled;
}

interface Pending {
  resolve: (r: WorkerReply) => void;
  reject: (e: Error) => void;
}

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly queues: Pending[][] = [];

  constructor(size: number) {
    const src = workerSource();
    for (let i = 0; i < size; i++) {
      const w = new Worker(src, { eval: true });
      const q: Pending[] = [];
      w.on("message", (r: WorkerReply) => {
        const p = q.shift();
        if (!p) return;
        if (r.kind === "error") p.reject(new Error(`training worker ${i}: ${r.message}`));
        else p.resolve(r);
      });
      w.on("error", (e) => {
        for (const p of q.splice(0)) p.reject(e);
      });
      this.workers.push(w);
      this.queues.push(q);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Sends a request; replies come back in order per worker. */
  request(w: number, msg: WorkerRequest): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      this.queues[w].push({ resolve, reject });
      this.workers[w].postMessage(msg);
    });
  }

  /** Fire-and-forget variant whose failure surfaces on the next request. */
  send(w: number, msg: WorkerRequest): void {
    this.request(w, msg).catch(() => {});
  }

  all(make: (w: number) => WorkerRequest): Promise<WorkerReply[]> {
    return Promise.all(this.workers.map((_, w) => this.request(w, make(w))));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
