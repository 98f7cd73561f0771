/**
 * OrtPort adapter over onnxruntime-node for training (the twin of gpu-worker's; STYLE: the only
 * module in training that imports an ORT package).
 */
import type {
  OrtPort,
  PortSession,
  PortTensor,
  SessionIOInfo,
  SessionOptions,
  TensorElementType,
} from "@budgetfusion/shared/runtime/ort-port";
import * as ort from "onnxruntime-node";

function ioInfo(meta: readonly ort.InferenceSession.ValueMetadata[]): SessionIOInfo[] {
  return meta.map((m) =>
    m.isTensor
      ? { name: m.name, type: m.type as TensorElementType, shape: m.shape }
      : { name: m.name },
  );
}

function toPort(t: ort.Tensor): PortTensor {
  return { type: t.type as TensorElementType, data: t.data as PortTensor["data"], dims: t.dims };
}

class NodeSession implements PortSession {
  readonly inputs: readonly SessionIOInfo[];
  readonly outputs: readonly SessionIOInfo[];
  constructor(private readonly session: ort.InferenceSession) {
    this.inputs = ioInfo(session.inputMetadata);
    this.outputs = ioInfo(session.outputMetadata);
  }
  async run(
    feeds: Record<string, PortTensor>,
    outputNames?: readonly string[],
  ): Promise<Record<string, PortTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      ortFeeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    }
    const result = outputNames
      ? await this.session.run(ortFeeds, [...outputNames])
      : await this.session.run(ortFeeds);
    const out: Record<string, PortTensor> = {};
    for (const [name, t] of Object.entries(result)) out[name] = toPort(t);
    return out;
  }
  release(): Promise<void> {
    return this.session.release();
  }
}

/** Builds the port; `intraOpThreads` bounds CPU use (the machine is shared). */
export function createNodeOrt(intraOpThreads?: number): OrtPort {
  return {
    name: `onnxruntime-node ${ort.env.versions.node ?? ""}`.trim(),
    async createSession(model: Uint8Array, options?: SessionOptions): Promise<PortSession> {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [...(options?.executionProviders ?? ["cpu"])],
        ...(intraOpThreads ? { intraOpNumThreads: intraOpThreads } : {}),
      });
      return new NodeSession(session);
    },
  };
}
