/**
 * CLIP text embeddings for POST /v1/embed (SPEC §4 prompt embedding p̄, when a bundle says
 * `embedding.runs_at = "gpu-worker"`): a transformers.js-layout folder (`onnx/text_model.onnx`,
 * `tokenizer.json`), ids padded to the longest text with an attention mask, projected
 * `text_embeds`, L2-normalised. (training/ has its own embedder for datasets; apps do not import
 * each other, so the few lines are repeated here.)
 */

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ShapeError } from "@budgetfusion/shared/errors";
import type { PortSession } from "@budgetfusion/shared/runtime/ort-port";
import {
  type ClipTokenizer,
  loadClipTokenizer,
} from "@budgetfusion/shared/tokenizer/clip-tokenizer";
import type { FileOrtPort } from "../runtime/ort-node";
import { findIO, intTensor, RunTimer, readFloat } from "./components/session-io";

export interface TextEmbedder {
  readonly modelId: string;
  /** Embedding width D. */
  readonly width: number;
  /** L2-normalised rows, [texts.length, D] row-major. */
  embed(texts: readonly string[]): Promise<Float32Array>;
}

export class ClipTextEmbedder implements TextEmbedder {
  private constructor(
    readonly modelId: string,
    readonly width: number,
    private readonly session: PortSession,
    private readonly tokenizer: ClipTokenizer,
  ) {}

  static async load(
    port: FileOrtPort,
    dir: string,
    modelId: string,
    executionProviders?: readonly string[],
  ): Promise<ClipTextEmbedder> {
    const tokenizer = await loadClipTokenizer((rel) => readFile(join(dir, rel), "utf8"));
    const session = await port.createSessionFromFile(join(dir, "onnx", "text_model.onnx"), {
      executionProviders,
    });
    const out = findIO(session.outputs, ["text_embeds"], 0, "text_model");
    const dim = out.shape?.[out.shape.length - 1];
    if (typeof dim !== "number") {
      throw new ShapeError("text_model: text_embeds has no static width", { field: "text_embeds" });
    }
    return new ClipTextEmbedder(modelId, dim, session, tokenizer);
  }

  async embed(texts: readonly string[]): Promise<Float32Array> {
    const { inputIds, attentionMask, length } = this.tokenizer.encode(texts, {
      padding: "longest",
    });
    const idsIO = findIO(this.session.inputs, ["input_ids"], 0, "text_model");
    const feeds: Record<string, ReturnType<typeof intTensor>> = {
      [idsIO.name]: intTensor(inputIds, [texts.length, length], idsIO.type, "input_ids"),
    };
    const maskIO = this.session.inputs.find((io) => io.name === "attention_mask");
    if (maskIO) {
      feeds[maskIO.name] = intTensor(
        attentionMask,
        [texts.length, length],
        maskIO.type,
        "attention_mask",
      );
    }
    const outName = findIO(this.session.outputs, ["text_embeds"], 0, "text_model").name;
    const out = await this.session.run(feeds, [outName]);
    const data = Float32Array.from(readFloat(out[outName], "text_embeds"));
    const d = this.width;
    for (let o = 0; o < data.length; o += d) {
      let s = 0;
      for (let k = 0; k < d; k++) s += data[o + k] * data[o + k];
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let k = 0; k < d; k++) data[o + k] *= inv;
    }
    return data;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
