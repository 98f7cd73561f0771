/**
 * Worker-thread entry of the data-parallel trainer (worker-pool.ts bundles this file with
 * esbuild at start-up because worker threads cannot load .ts under tsx). Messages are
 * WorkerRequest / WorkerReply; parameters, gradients and datasets live in SharedArrayBuffers.
 */
import { parentPort } from "node:worker_threads";
import { ShardRunner } from "./shard-runner";
import type { WorkerReply, WorkerRequest } from "./worker-protocol";

let runner: ShardRunner | null = null;

function handle(msg: WorkerRequest): WorkerReply {
  if (msg.kind === "init") {
    runner = new ShardRunner(
      msg.cfg,
      msg.specs,
      new Float32Array(msg.params),
      new Float32Array(msg.grads),
      msg.T,
      msg.heads,
    );
    return { kind: "ok" };
  }
  if (!runner) throw new Error("worker not initialised");
  if (msg.kind === "dataset") {
    runner.setDataset(msg.name, {
      x: new Float32Array(msg.x),
      y: msg.y ? new Float32Array(msg.y) : null,
    });
    return { kind: "ok" };
  }
  if (msg.kind === "step") return { kind: "loss", loss: runner.step(msg.req) };
  return { kind: "outputs", outputs: runner.forward(msg.dataset, msg.indices) };
}

parentPort?.on("message", (msg: WorkerRequest) => {
  try {
    const reply = handle(msg);
    if (reply.kind === "outputs")
      parentPort?.postMessage(reply, [reply.outputs.buffer as ArrayBuffer]);
    else parentPort?.postMessage(reply);
  } catch (err) {
    parentPort?.postMessage({
      kind: "error",
      message: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
  }
});
