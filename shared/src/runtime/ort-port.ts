/**
 * The one seam between BudgetFusion's core and an ONNX runtime (transformers.js' backends/onnx
 * pattern). shared/ never imports onnxruntime-*: the edge implements this port with
 * onnxruntime-web, the GPU worker and training with onnxruntime-node.
 */

export type TensorElementType = "float32" | "float16" | "int32" | "int64" | "bool" | "uint8";

/** A runtime-neutral tensor. int64 data is carried as BigInt64Array. */
export interface PortTensor {
  readonly type: TensorElementType;
  readonly data: Float32Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;
  readonly dims: readonly number[];
}

export interface SessionIOInfo {
  readonly name: string;
  /** Element type when the runtime reports it (onnxruntime >= 1.20 does). */
  readonly type?: TensorElementType;
  /** Static dims; symbolic dims are strings. */
  readonly shape?: readonly (number | string)[];
}

export interface PortSession {
  readonly inputs: readonly SessionIOInfo[];
  readonly outputs: readonly SessionIOInfo[];
  run(
    feeds: Record<string, PortTensor>,
    outputNames?: readonly string[],
  ): Promise<Record<string, PortTensor>>;
  release(): Promise<void>;
}

export interface SessionOptions {
  /** Execution providers in preference order, e.g. ["webgpu", "cpu"]. Default: ["cpu"]. */
  executionProviders?: readonly string[];
}

export interface OrtPort {
  /** Which runtime this is, for logs and /readyz ("onnxruntime-node 1.30.0"). */
  readonly name: string;
  createSession(model: Uint8Array, options?: SessionOptions): Promise<PortSession>;
}
