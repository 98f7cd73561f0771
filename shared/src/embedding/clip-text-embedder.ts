/**
 * CLIP text embeddings (SPEC §4 prompt embedding p̄; paper Eq. 1 for prompt sampling): a CLIP text
 * model in the transformers.js layout (`onnx/text_model.onnx`: input_ids [+ attention_mask] ->
 * projected `text_embeds`), L2-normalised. Runtime-neutral: it drives a PortSession, so the edge
 * (onnxruntime-web in workerd) and the Node side (@budgetfusion/inference reads the model folder;
 * the GPU worker's /v1/embed and training use it) embed with exactly this code.
 *
 * Batches are formed from length-sorted texts padded to the longest row: CLIP's causal mask plus
 * the attention mask make the embedding independent of padding, and sorting keeps the padded work
 * small. What the model declares decides the feeds: int32 or int64 ids, and an attention_mask
 * only when the model has that input.
 */
import { ModelLoadError, ShapeError } from "../errors";
import type { PortSession, PortTensor } from "../runtime/ort-port";
import { findIO, intTensor, readFloat } from "../runtime/session-io";
import type { ClipTokenizer } from "../tokenizer/clip-tokenizer";

/** What the embedder needs of a tokenizer (ClipTokenizer in production). */
export type TextTokenizer = Pick<ClipTokenizer, "encode">;

/** Where the text model lives in a transformers.js-layout folder (and in a bundle's embedding/). */
export const TEXT_MODEL_FILE = "onnx/text_model.onnx";
const OUTPUT = "text_embeds";

export interface TextEmbedder {
  /** The CLIP model's id (folder name or manifest model_id), reported with embeddings. */
  readonly modelId: string;
  /** Embedding width D. */
  readonly width: number;
  /** L2-normalised embeddings, `[texts.length, D]` row-major, in input order. */
  embed(texts: readonly string[], onProgress?: (done: number) => void): Promise<Float32Array>;
  release(): Promise<void>;
}

/** Normalises each `width`-long row in place (zero rows stay zero). */
export function l2NormalizeRows(data: Float32Array, width: number): Float32Array {
  for (let o = 0; o < data.length; o += width) {
    let s = 0;
    for (let d = 0; d < width; d++) s += data[o + d] * data[o + d];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < width; d++) data[o + d] *= inv;
  }
  return data;
}

export interface ClipTextEmbedderOptions {
  modelId: string;
  /** Known width (e.g. from a bundle manifest); else the output's static dim, else a probe run. */
  width?: number;
  /** Texts per session run (default 256). */
  batchSize?: number;
}

export class ClipTextEmbedder implements TextEmbedder {
  private constructor(
    private readonly session: PortSession,
    private readonly tokenizer: TextTokenizer,
    readonly modelId: string,
    readonly width: number,
    private readonly batchSize: number,
  ) {}

  /** Wraps a text-model session; ModelLoadError when it has no text_embeds output. */
  static async fromSession(
    session: PortSession,
    tokenizer: TextTokenizer,
    options: ClipTextEmbedderOptions,
  ): Promise<ClipTextEmbedder> {
    const output = session.outputs.find((o) => o.name === OUTPUT);
    if (output === undefined) {
      throw new ModelLoadError(`${TEXT_MODEL_FILE} has no ${OUTPUT} output`, { field: OUTPUT });
    }
    const declared = output.shape?.[output.shape.length - 1];
    const embedder = (width: number) =>
      new ClipTextEmbedder(session, tokenizer, options.modelId, width, options.batchSize ?? 256);
    if (options.width !== undefined) return embedder(options.width);
    if (typeof declared === "number") return embedder(declared);
    const probe = await embedder(0).run(["a"]);
    return embedder(probe.dims[probe.dims.length - 1]);
  }

  /** One session run over `texts` padded to the longest: raw text_embeds [B, D]. */
  private async run(texts: readonly string[]): Promise<PortTensor & { data: Float32Array }> {
    const enc = this.tokenizer.encode(texts, { padding: "longest" });
    const dims = [texts.length, enc.length];
    const ids = findIO(this.session.inputs, ["input_ids"], 0, "text_model");
    const feeds: Record<string, PortTensor> = {
      [ids.name]: intTensor(enc.inputIds, dims, ids.type, "input_ids"),
    };
    const mask = this.session.inputs.find((io) => io.name === "attention_mask");
    if (mask !== undefined) {
      feeds[mask.name] = intTensor(enc.attentionMask, dims, mask.type, "attention_mask");
    }
    const out = (await this.session.run(feeds, [OUTPUT]))[OUTPUT];
    return { ...out, data: readFloat(out, OUTPUT) };
  }

  async embed(
    texts: readonly string[],
    onProgress?: (done: number) => void,
  ): Promise<Float32Array> {
    const d = this.width;
    const out = new Float32Array(texts.length * d);
    if (texts.length === 0) return out;
    // Token counts only order the batches; each batch is re-encoded with padding.
    const lengths = texts.map((t) => this.tokenizer.encode([t], { padding: "longest" }).length);
    const order = texts.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
    for (let s = 0; s < order.length; s += this.batchSize) {
      const idx = order.slice(s, s + this.batchSize);
      const { data } = await this.run(idx.map((i) => texts[i]));
      if (data.length !== idx.length * d) {
        throw new ShapeError(`${OUTPUT} has ${data.length} values, expected ${idx.length}x${d}`, {
          field: OUTPUT,
        });
      }
      for (const [b, row] of idx.entries()) out.set(data.subarray(b * d, (b + 1) * d), row * d);
      onProgress?.(Math.min(s + this.batchSize, order.length));
    }
    return l2NormalizeRows(out, d);
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
