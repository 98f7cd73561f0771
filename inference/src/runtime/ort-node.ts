/**
 * OrtPort adapter over onnxruntime-node: the ONLY module on the Node side (GPU worker, training,
 * the mini world) that imports an ONNX runtime (STYLE.md "Runtime injection"). CPU by default;
 * "webgpu" (bundled, Dawn over Vulkan) and "cuda" (needs the separately installed CUDA 12
 * binaries) on request — see gpu-worker/README.md and docs/notes/gpu-execution.md.
 */

import { ConfigError, ModelLoadError } from "@budgetfusion/shared/errors";
import type {
  OrtPort,
  PortSession,
  PortTensor,
  SessionIOInfo,
  SessionOptions,
  TensorElementType,
} from "@budgetfusion/shared/runtime/ort-port";
import * as ort from "onnxruntime-node";

const PORT_TYPES = new Set<string>(["float32", "float16", "int32", "int64", "bool", "uint8"]);

/** Execution providers this build of onnxruntime-node can load, e.g. cpu, webgpu. */
export function availableExecutionProviders(): { name: string; bundled: boolean }[] {
  return ort.listSupportedBackends().map((b) => ({ name: b.name, bundled: b.bundled }));
}

/**
 * Checks requested providers against what the installed onnxruntime-node ships, so a missing
 * CUDA install is a clear ConfigError at startup rather than an opaque native error later.
 */
function checkExecutionProviders(requested: readonly string[]): void {
  const known = new Map(availableExecutionProviders().map((b) => [b.name, b.bundled]));
  for (const ep of requested) {
    if (!known.has(ep)) {
      throw new ConfigError(
        `execution provider "${ep}" is not supported by onnxruntime-node ${ort.env.versions.common} (known: ${[...known.keys()].join(", ")})`,
        { field: "executionProviders" },
      );
    }
  }
}

function toPortType(type: string): TensorElementType | undefined {
  return PORT_TYPES.has(type) ? (type as TensorElementType) : undefined;
}

/** Session metadata as the port describes it (also what the inference thread sends back). */
export function ioInfo(meta: readonly ort.InferenceSession.ValueMetadata[]): SessionIOInfo[] {
  return meta.map((m) =>
    m.isTensor
      ? { name: m.name, type: toPortType(m.type), shape: m.shape }
      : { name: m.name, type: undefined, shape: undefined },
  );
}

function toOrtTensor(t: PortTensor): ort.Tensor {
  return new ort.Tensor(t.type, t.data, t.dims);
}

/** An output tensor as a PortTensor; ModelLoadError for element types the port has no name for. */
export function fromOrtTensor(
  name: string,
  t: Pick<ort.Tensor, "type" | "data" | "dims">,
): PortTensor {
  const type = toPortType(t.type);
  if (type === undefined) {
    throw new ModelLoadError(`output "${name}" has unsupported element type ${t.type}`, {
      field: name,
    });
  }
  return { type, data: t.data as PortTensor["data"], dims: [...t.dims] };
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
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(t);
    const result =
      outputNames === undefined
        ? await this.session.run(ortFeeds)
        : await this.session.run(ortFeeds, [...outputNames]);
    const out: Record<string, PortTensor> = {};
    for (const [name, t] of Object.entries(result)) out[name] = fromOrtTensor(name, t);
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/**
 * The Node port also opens models by path: ORT then resolves external-data files (weights.pb,
 * model.onnx_data) next to the model, which SD2's >2 GB UNet needs, and the weights never pass
 * through the JS heap.
 */
export interface FileOrtPort extends OrtPort {
  createSessionFromFile(path: string, options?: SessionOptions): Promise<PortSession>;
}

export interface NodeOrtOptions {
  /**
   * ORT's intra-op thread pool size; unset = ORT's default (one per core). Graphs of many small
   * operators (the mini world, the predictor) run faster with 1, large UNets want all cores.
   */
  intraOpNumThreads?: number;
}

/** This runtime's name and version, for logs and /readyz. */
export const ORT_NODE_NAME = `onnxruntime-node ${ort.env.versions.common}`;

/**
 * What every onnxruntime-node port shares: sessions from bytes or a path, the default providers,
 * the session options and the error a session that will not open becomes. Subclasses only say
 * where the session lives (this thread, or an inference thread: ort-node-thread.ts).
 */
export abstract class NodeOrtPortBase implements FileOrtPort {
  abstract readonly name: string;

  constructor(
    private readonly defaultProviders: readonly string[],
    private readonly options: NodeOrtOptions,
  ) {
    checkExecutionProviders(defaultProviders);
  }

  createSession(model: Uint8Array, options: SessionOptions = {}): Promise<PortSession> {
    return this.open(model, options, "model bytes");
  }

  createSessionFromFile(path: string, options: SessionOptions = {}): Promise<PortSession> {
    return this.open(path, options, path);
  }

  /** Opens `model` with ORT's options; any failure is turned into a ModelLoadError by open(). */
  protected abstract openSession(
    model: Uint8Array | string,
    sessionOptions: ort.InferenceSession.SessionOptions,
    what: string,
  ): Promise<PortSession>;

  private async open(
    model: Uint8Array | string,
    options: SessionOptions,
    what: string,
  ): Promise<PortSession> {
    const providers = options.executionProviders ?? this.defaultProviders;
    const sessionOptions = ortSessionOptions(providers, this.options);
    try {
      return await this.openSession(model, sessionOptions, what);
    } catch (cause) {
      if (cause instanceof ModelLoadError) throw cause;
      throw openError(what, providers, cause);
    }
  }
}

export class NodeOrtPort extends NodeOrtPortBase {
  readonly name = ORT_NODE_NAME;

  constructor(defaultProviders: readonly string[] = ["cpu"], options: NodeOrtOptions = {}) {
    super(defaultProviders, options);
  }

  protected async openSession(
    model: Uint8Array | string,
    sessionOptions: ort.InferenceSession.SessionOptions,
  ): Promise<PortSession> {
    const session =
      typeof model === "string"
        ? await ort.InferenceSession.create(model, sessionOptions)
        : await ort.InferenceSession.create(model, sessionOptions);
    return new NodeSession(session);
  }
}

/** ORT's session options for `providers` (checked against this build first). */
function ortSessionOptions(
  providers: readonly string[],
  options: NodeOrtOptions,
): ort.InferenceSession.SessionOptions {
  checkExecutionProviders(providers);
  return {
    executionProviders: [...providers],
    graphOptimizationLevel: "all",
    ...(options.intraOpNumThreads === undefined
      ? {}
      : { intraOpNumThreads: options.intraOpNumThreads }),
  };
}

/** The ModelLoadError for a session that would not open, with a hint for GPU providers. */
function openError(what: string, providers: readonly string[], cause: unknown) {
  const hint = providers.includes("cuda")
    ? " (the CUDA provider needs onnxruntime-node installed with ONNXRUNTIME_NODE_INSTALL=cuda12, see gpu-worker/README.md)"
    : providers.includes("webgpu")
      ? " (the WebGPU provider needs libvulkan1 and the GLVND libraries, see gpu-worker/README.md)"
      : "";
  return new ModelLoadError(
    `onnxruntime-node could not open ${what} with providers [${providers.join(", ")}]: ${
      cause instanceof Error ? cause.message : String(cause)
    }${hint}`,
    { field: "executionProviders", cause },
  );
}

/** A CPU-only port; `intraOpThreads` bounds CPU use (tests, training, the mini world). */
export function createNodeOrt(intraOpThreads?: number): NodeOrtPort {
  return new NodeOrtPort(["cpu"], { intraOpNumThreads: intraOpThreads });
}
