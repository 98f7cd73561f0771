/**
 * Gradient engines for the trainer (SPEC §4 training): one computes a batch's loss and summed
 * gradient on the calling thread, the other splits the batch over worker threads
 * (data parallelism; docs/notes/training-in-typescript.md: 2 workers ≈ 2x on this 2-core machine).
 * Both shard the same way conceptually: sample i of a batch draws dropout stream i and the loss
 * is normalised by the whole batch's element count, so the summed gradient equals the
 * single-thread one up to float summation order (tested to 1e-6).
 */
import type { ModelConfig } from "../model/config";
import { type ParamSpec, specsSize } from "../model/params";
import { ShardRunner } from "./shard-runner";
import { WorkerPool } from "./worker-pool";

export interface GradEngine {
  /** Flat parameters the engine reads (write into it, never replace it). */
  readonly params: Float32Array;
  /** Summed gradient of the last step. */
  readonly grads: Float32Array;
  setDataset(name: string, x: Float32Array, y: Float32Array | null): Promise<void>;
  /** Forward + backward over `indices` of dataset; returns the batch loss, fills `grads`. */
  step(dataset: string, indices: Int32Array, dropoutSeed: number): Promise<number>;
  /** Inference outputs [n, T, heads]. */
  forward(dataset: string, indices: Int32Array): Promise<Float32Array>;
  close(): Promise<void>;
}

export interface EngineOptions {
  cfg: ModelConfig;
  specs: ParamSpec[];
  T: number;
  heads: number;
  threads: number;
  /** First-difference loss weight (model/curve-loss.ts); 0 = plain L2. */
  diffWeight: number;
}

class LocalEngine implements GradEngine {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  private readonly runner: ShardRunner;

  constructor(private readonly o: EngineOptions) {
    const size = specsSize(o.specs);
    this.params = new Float32Array(size);
    this.grads = new Float32Array(size);
    this.runner = new ShardRunner(o.cfg, o.specs, this.params, this.grads, o.T, o.heads);
  }

  async setDataset(name: string, x: Float32Array, y: Float32Array | null): Promise<void> {
    this.runner.setDataset(name, { x, y });
  }

  async step(dataset: string, indices: Int32Array, dropoutSeed: number): Promise<number> {
    const lossDenominator = indices.length * this.o.T * this.o.heads;
    return this.runner.step({
      dataset,
      indices,
      lossDenominator,
      dropoutSeed,
      sampleOffset: 0,
      diffWeight: this.o.diffWeight,
    });
  }

  async forward(dataset: string, indices: Int32Array): Promise<Float32Array> {
    return this.runner.forward(dataset, indices);
  }

  async close(): Promise<void> {}
}

function shared(a: Float32Array): SharedArrayBuffer {
  if (
    a.buffer instanceof SharedArrayBuffer &&
    a.byteOffset === 0 &&
    a.byteLength === a.buffer.byteLength
  )
    return a.buffer;
  const sab = new SharedArrayBuffer(a.byteLength);
  new Float32Array(sab).set(a);
  return sab;
}

class PoolEngine implements GradEngine {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  private readonly workerGrads: Float32Array[] = [];
  private readonly pool: WorkerPool;

  constructor(private readonly o: EngineOptions) {
    const bytes = specsSize(o.specs) * 4;
    const paramsSab = new SharedArrayBuffer(bytes);
    this.params = new Float32Array(paramsSab);
    this.grads = new Float32Array(bytes / 4);
    this.pool = new WorkerPool(o.threads);
    for (let w = 0; w < o.threads; w++) {
      const g = new SharedArrayBuffer(bytes);
      this.workerGrads.push(new Float32Array(g));
      this.pool.send(w, {
        kind: "init",
        cfg: o.cfg,
        specs: o.specs,
        params: paramsSab,
        grads: g,
        T: o.T,
        heads: o.heads,
      });
    }
  }

  async setDataset(name: string, x: Float32Array, y: Float32Array | null): Promise<void> {
    const xs = shared(x);
    const ys = y ? shared(y) : null;
    await this.pool.all(() => ({ kind: "dataset", name, x: xs, y: ys }));
  }

  /** Contiguous shards [start, end) of n samples over the threads (empty shards dropped). */
  private shards(n: number): Array<[number, number]> {
    const per = Math.ceil(n / this.o.threads);
    const out: Array<[number, number]> = [];
    for (let s = 0; s < n; s += per) out.push([s, Math.min(n, s + per)]);
    return out;
  }

  async step(dataset: string, indices: Int32Array, dropoutSeed: number): Promise<number> {
    const lossDenominator = indices.length * this.o.T * this.o.heads;
    const shards = this.shards(indices.length);
    const replies = await Promise.all(
      shards.map(([a, b], w) =>
        this.pool.request(w, {
          kind: "step",
          req: {
            dataset,
            indices: indices.slice(a, b),
            lossDenominator,
            dropoutSeed,
            sampleOffset: a,
            diffWeight: this.o.diffWeight,
          },
        }),
      ),
    );
    // Fixed summation order (worker 0, 1, ...) keeps runs bit-reproducible.
    this.grads.set(this.workerGrads[0]);
    for (let w = 1; w < shards.length; w++) {
      const g = this.workerGrads[w];
      for (let i = 0; i < g.length; i++) this.grads[i] += g[i];
    }
    let loss = 0;
    for (const r of replies) if (r.kind === "loss") loss += r.loss;
    return loss;
  }

  async forward(dataset: string, indices: Int32Array): Promise<Float32Array> {
    const shards = this.shards(indices.length);
    const parts = await Promise.all(
      shards.map(([a, b], w) =>
        this.pool.request(w, { kind: "forward", dataset, indices: indices.slice(a, b) }),
      ),
    );
    const per = this.o.T * this.o.heads;
    const out = new Float32Array(indices.length * per);
    parts.forEach((p, w) => {
      if (p.kind === "outputs") out.set(p.outputs, shards[w][0] * per);
    });
    return out;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** threads <= 1: compute on the calling thread; otherwise one worker per thread. */
export function createGradEngine(o: EngineOptions): GradEngine {
  return o.threads <= 1 ? new LocalEngine(o) : new PoolEngine(o);
}
