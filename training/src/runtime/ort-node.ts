/**
 * Training's ONNX runtime: the GPU worker's onnxruntime-node port (one adapter for every Node
 * side, so session options and error handling cannot drift apart), CPU only.
 */
import type { OrtPort } from "@budgetfusion/shared/runtime/ort-port";
import { NodeOrtPort } from "../../../gpu-worker/src/runtime/ort-node";

/** Builds the port; `intraOpThreads` bounds CPU use (the machine is shared). */
export function createNodeOrt(intraOpThreads?: number): OrtPort {
  return new NodeOrtPort(["cpu"], { intraOpNumThreads: intraOpThreads });
}
