/**
 * CLIP text embeddings for prompt sampling (paper Eq. 1) and the predictor input p̄ (SPEC §4):
 * a transformers.js-layout model folder (`onnx/text_model.onnx` + `tokenizer.json`), projected
 * `text_embeds`, L2-normalised. Batches are formed from length-sorted texts padded to the longest
 * row: CLIP's causal mask plus the attention mask make the embedding independent of padding, and
 * sorting keeps the padded work small.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ModelLoadError, ShapeError } from "@budgetfusion/shared/errors";
import type { OrtPort, PortSession } from "@budgetfusion/shared/runtime/ort-port";
import {
  type ClipTokenizer,
  loadClipTokenizer,
} from "@budgetfusion/shared/tokenizer/clip-tokenizer";

export const TEXT_MODEL_FILE = "onnx/text_model.onnx";

export interface TextEmbedder {
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

function toInt64(a: Int32Array): BigInt64Array {
  const out = new BigInt64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = BigInt(a[i]);
  return out;
}

class ClipTextEmbedder implements TextEmbedder {
  constructor(
    private readonly session: PortSession,
    private readonly tokenizer: ClipTokenizer,
    readonly width: number,
    private readonly batchSize: number,
  ) {}

  async embed(
    texts: readonly string[],
    onProgress?: (done: number) => void,
  ): Promise<Float32Array> {
    const out = new Float32Array(texts.length * this.width);
    if (texts.length === 0) return out;
    // Token counts only order the batches; the tokenizer re-encodes each batch with padding.
    const lengths = texts.map((t) => this.tokenizer.encode([t], { padding: "longest" }).length);
    const order = texts.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
    const wantsMask = this.session.inputs.some((i) => i.name === "attention_mask");
    for (let s = 0; s < order.length; s += this.batchSize) {
      const idx = order.slice(s, s + this.batchSize);
      const enc = this.tokenizer.encode(
        idx.map((i) => texts[i]),
        { padding: "longest" },
      );
      const dims = [idx.length, enc.length];
      const feeds = {
        input_ids: { type: "int64" as const, data: toInt64(enc.inputIds), dims },
        ...(wantsMask
          ? { attention_mask: { type: "int64" as const, data: toInt64(enc.attentionMask), dims } }
          : {}),
      };
      const res = await this.session.run(feeds, ["text_embeds"]);
      const emb = res.text_embeds;
      if (!emb || emb.data.length !== idx.length * this.width) {
        throw new ShapeError(
          `text_embeds has ${emb?.data.length} values, expected ${idx.length}x${this.width}`,
          {
            field: "text_embeds",
          },
        );
      }
      const data = emb.data as Float32Array;
      idx.forEach((row, b) =>
        out.set(data.subarray(b * this.width, (b + 1) * this.width), row * this.width),
      );
      onProgress?.(Math.min(s + this.batchSize, order.length));
    }
    return l2NormalizeRows(out, this.width);
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Loads `<dir>/onnx/text_model.onnx` and `<dir>/tokenizer.json`; width from a probe run. */
export async function loadClipTextEmbedder(
  ort: OrtPort,
  dir: string,
  batchSize = 256,
): Promise<TextEmbedder> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(dir, TEXT_MODEL_FILE));
  } catch (cause) {
    throw new ModelLoadError(`cannot read ${join(dir, TEXT_MODEL_FILE)}`, { field: "clip", cause });
  }
  const tokenizer = await loadClipTokenizer((p) => readFile(join(dir, p), "utf8"));
  const session = await ort.createSession(bytes);
  if (!session.outputs.some((o) => o.name === "text_embeds")) {
    throw new ModelLoadError(`${TEXT_MODEL_FILE} has no text_embeds output`, { field: "clip" });
  }
  const probe = tokenizer.encode(["a"], { padding: "longest" });
  const dims = [1, probe.length];
  const res = await session.run(
    {
      input_ids: { type: "int64", data: toInt64(probe.inputIds), dims },
      attention_mask: { type: "int64", data: toInt64(probe.attentionMask), dims },
    },
    ["text_embeds"],
  );
  const width = res.text_embeds.dims[1];
  return new ClipTextEmbedder(session, tokenizer, width, batchSize);
}
