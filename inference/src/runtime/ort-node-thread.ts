/**
 * An OrtPort whose onnxruntime-node sessions live on a worker thread: onnxruntime-node's run()
 * blocks the calling thread for the whole native call (ORT issue 19611), which on the main
 * thread stalls HTTP answers (/healthz, progress) and the edge heartbeat for the length of a
 * UNet call. Here the main thread only posts tensors and awaits the answer; the thread body is
 * ort-node-thread-body.mjs. Runs on one thread are served in order, which is what a single
 * accelerator does anyway. Tensors are copied (structured clone) both ways: callers keep their
 * buffers, at a cost measured in docs/batching.md §4.
 */
import { Worker } from "node:worker_threads";
import { ModelLoadError } from "@budgetfusion/shared/errors";
import type { PortSession, PortTensor, SessionIOInfo } from "@budgetfusion/shared/runtime/ort-port";
import type * as ort from "onnxruntime-node";
import {
  fromOrtTensor,
  ioInfo,
  type NodeOrtOptions,
  NodeOrtPortBase,
  ORT_NODE_NAME,
} from "./ort-node";

type Reply = {
  id: number;
  error?: { message: string };
  session?: number;
  inputs?: ort.InferenceSession.ValueMetadata[];
  outputs?: ort.InferenceSession.ValueMetadata[] | Record<string, PortTensor>;
};

class ThreadSession implements PortSession {
  constructor(
    private readonly port: ThreadedNodeOrtPort,
    private readonly id: number,
    readonly inputs: readonly SessionIOInfo[],
    readonly outputs: readonly SessionIOInfo[],
  ) {}

  async run(
    feeds: Record<string, PortTensor>,
    outputNames?: readonly string[],
  ): Promise<Record<string, PortTensor>> {
    const reply = await this.port.call({
      op: "run",
      session: this.id,
      feeds,
      outputNames: outputNames === undefined ? undefined : [...outputNames],
    });
    const out: Record<string, PortTensor> = {};
    for (const [name, t] of Object.entries(reply.outputs as Record<string, PortTensor>)) {
      out[name] = fromOrtTensor(name, t as Pick<ort.Tensor, "type" | "data" | "dims">);
    }
    return out;
  }

  async release(): Promise<void> {
    if (this.port.isClosed) return;
    await this.port.call({ op: "release", session: this.id });
  }
}

export class ThreadedNodeOrtPort extends NodeOrtPortBase {
  readonly name: string;
  private readonly worker: Worker;
  private readonly waiting = new Map<
    number,
    { resolve: (r: Reply) => void; reject: (e: Error) => void }
  >();
  private nextId = 0;
  private failed: Error | undefined;
  private closed = false;

  constructor(defaultProviders: readonly string[] = ["cpu"], options: NodeOrtOptions = {}) {
    super(defaultProviders, options); // fails on a bad provider before a thread starts
    this.name = `${ORT_NODE_NAME} (inference thread)`;
    this.worker = new Worker(new URL("./ort-node-thread-body.mjs", import.meta.url));
    // Idle, the thread must not keep the process alive; while a call is out it must.
    this.worker.unref();
    this.worker.on("message", (reply: Reply) => {
      const w = this.waiting.get(reply.id);
      if (w === undefined) return;
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) this.worker.unref();
      if (reply.error !== undefined) w.reject(new Error(reply.error.message));
      else w.resolve(reply);
    });
    const die = (err: Error) => {
      this.failed = err;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    this.worker.on("error", die);
    this.worker.on("exit", (code) => die(new Error(`inference thread exited with code ${code}`)));
  }

  /** Whether close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal One request to the thread. */
  call(msg: Record<string, unknown>): Promise<Reply> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, ...msg });
    });
  }

  protected async openSession(
    model: Uint8Array | string,
    sessionOptions: ort.InferenceSession.SessionOptions,
    what: string,
  ): Promise<PortSession> {
    const reply = await this.call({ op: "create", model, options: sessionOptions });
    if (reply.session === undefined)
      throw new ModelLoadError(`thread opened no session for ${what}`);
    return new ThreadSession(
      this,
      reply.session,
      ioInfo(reply.inputs ?? []),
      ioInfo((reply.outputs as ort.InferenceSession.ValueMetadata[]) ?? []),
    );
  }

  /** Ends the thread; sessions die with it (releasing one afterwards is a no-op). */
  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }
}
