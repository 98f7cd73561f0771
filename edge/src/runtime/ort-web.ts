/**
 * OrtPort backed by onnxruntime-web inside workerd (STYLE §2: one module touches ORT; recipe in
 * docs/notes/onnx-in-workerd.md). This is the only edge module that imports onnxruntime-web.
 *
 * workerd forbids compiling WebAssembly from bytes at run time, so the ORT wasm is imported as a
 * precompiled `WebAssembly.Module` (wrangler rule CompiledWasm) and handed to Emscripten by
 * answering its one `WebAssembly.instantiate(bytes, imports)` call while the first session is
 * created. ORT start-up failure is permanent per isolate, so the start-up promise is cached and
 * cleared on failure (a later request retries in a fresh state only if ORT allows it).
 */
import type {
  OrtPort,
  PortSession,
  PortTensor,
  SessionIOInfo,
  SessionOptions,
  TensorElementType,
} from "@budgetfusion/shared/runtime/ort-port";
import * as ort from "onnxruntime-web/wasm";
// Relative path on purpose: wrangler's module collector resolves bare package paths wrongly.
import ortWasm from "../../../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm";

ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
// A placeholder so ORT skips fetching the wasm; the real module comes from the interception below.
ort.env.wasm.wasmBinary = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);

let creating: Promise<unknown> = Promise.resolve();
/** ORT's linear memory, once instantiated: the bulk of the isolate's memory (weights, arenas). */
let ortMemory: WebAssembly.Memory | undefined;

/** Bytes of ORT's WebAssembly memory in this isolate (0 before the first session). */
export function ortWasmMemoryBytes(): number {
  return ortMemory?.buffer.byteLength ?? 0;
}

function findMemory(instance: WebAssembly.Instance, imports?: WebAssembly.Imports) {
  const exported = Object.values(instance.exports).find((v) => v instanceof WebAssembly.Memory);
  if (exported !== undefined) return exported as WebAssembly.Memory;
  for (const module of Object.values(imports ?? {}))
    for (const v of Object.values(module)) if (v instanceof WebAssembly.Memory) return v;
  return undefined;
}

/** Runs `create` while WebAssembly.instantiate(bytes) is answered with the precompiled module. */
async function withPrecompiledWasm<T>(create: () => Promise<T>): Promise<T> {
  // Serialise creations: the interception swaps a global for the duration of one create().
  const previous = creating;
  let release: () => void = () => {};
  creating = new Promise<void>((resolve) => {
    release = resolve;
  });
  await previous.catch(() => undefined);
  const original = WebAssembly.instantiate;
  const patched = (async (source: unknown, imports?: WebAssembly.Imports) => {
    if (source instanceof WebAssembly.Module) return original(source, imports);
    const instance = await original(ortWasm, imports);
    ortMemory = findMemory(instance, imports);
    return { module: ortWasm, instance };
  }) as typeof WebAssembly.instantiate;
  WebAssembly.instantiate = patched;
  try {
    return await create();
  } finally {
    WebAssembly.instantiate = original;
    release();
  }
}

function toPortTensor(t: ort.Tensor): PortTensor {
  return { type: t.type as TensorElementType, data: t.data as PortTensor["data"], dims: t.dims };
}

function ioInfo(names: readonly string[], meta: readonly unknown[] | undefined): SessionIOInfo[] {
  return names.map((name, i) => {
    const m = meta?.[i] as { isTensor?: boolean; type?: string; shape?: (number | string)[] };
    if (m?.isTensor) return { name, type: m.type as TensorElementType, shape: m.shape };
    return { name };
  });
}

class WebSession implements PortSession {
  readonly inputs: readonly SessionIOInfo[];
  readonly outputs: readonly SessionIOInfo[];
  constructor(private readonly session: ort.InferenceSession) {
    this.inputs = ioInfo(session.inputNames, session.inputMetadata);
    this.outputs = ioInfo(session.outputNames, session.outputMetadata);
  }

  async run(
    feeds: Record<string, PortTensor>,
    outputNames?: readonly string[],
  ): Promise<Record<string, PortTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      ortFeeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    }
    const result =
      outputNames === undefined
        ? await this.session.run(ortFeeds)
        : await this.session.run(ortFeeds, outputNames as string[]);
    const out: Record<string, PortTensor> = {};
    for (const [name, t] of Object.entries(result)) out[name] = toPortTensor(t);
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** The edge's ORT adapter: CPU (wasm) execution, one thread. */
export const ortWeb: OrtPort = {
  name: `onnxruntime-web ${ort.env.versions.web ?? ""}`.trim(),
  async createSession(model: Uint8Array, options: SessionOptions = {}): Promise<PortSession> {
    const session = await withPrecompiledWasm(() =>
      ort.InferenceSession.create(model, {
        executionProviders: [...(options.executionProviders ?? ["wasm"])].map((ep) =>
          ep === "cpu" ? "wasm" : ep,
        ),
        graphOptimizationLevel: "all",
      }),
    );
    return new WebSession(session);
  },
};
