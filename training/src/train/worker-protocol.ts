/** Messages between the trainer and its worker threads (see worker-entry.ts). */
import type { ModelConfig } from "../model/config";
import type { ParamSpec } from "../model/params";
import type { StepRequest } from "./shard-runner";

export type WorkerRequest =
  | {
      kind: "init";
      cfg: ModelConfig;
      specs: ParamSpec[];
      params: SharedArrayBuffer;
      grads: SharedArrayBuffer;
      T: number;
      heads: number;
    }
  | { kind: "dataset"; name: string; x: SharedArrayBuffer; y: SharedArrayBuffer | null }
  | { kind: "step"; req: StepRequest }
  | { kind: "forward"; dataset: string; indices: Int32Array };

export type WorkerReply =
  | { kind: "ok" }
  | { kind: "loss"; loss: number }
  | { kind: "outputs"; outputs: Float32Array }
  | { kind: "error"; message: string };
