/**
 * The embedder's feeds and batching against fake sessions: what the model declares decides the
 * feeds (an attention_mask only when the model has one, int32 or int64 ids), rows come back in
 * input order and L2-normalised whatever the batching. Parity with a real CLIP model is
 * inference/src/embedding/clip-text-embedder.golden.test.ts.
 */
import { describe, expect, it } from "vitest";
import { ModelLoadError, ShapeError } from "../errors";
import type { PortSession, PortTensor, SessionIOInfo } from "../runtime/ort-port";
import type { ClipEncoding } from "../tokenizer/clip-tokenizer";
import { ClipTextEmbedder, l2NormalizeRows, type TextTokenizer } from "./clip-text-embedder";

const PAD = 0;

/** One id per word (its length), padded with PAD to the longest text of the call. */
const tokenizer: TextTokenizer = {
  encode(texts: readonly string[]): ClipEncoding {
    const rows = texts.map((t) => t.split(" ").map((w) => w.length));
    const length = Math.max(...rows.map((r) => r.length));
    const inputIds = new Int32Array(texts.length * length).fill(PAD);
    const attentionMask = new Int32Array(texts.length * length);
    for (const [b, r] of rows.entries())
      for (const [k, id] of r.entries()) {
        inputIds[b * length + k] = id;
        attentionMask[b * length + k] = 1;
      }
    return { inputIds, attentionMask, length };
  },
};

/** text_embeds row = [sum of ids, count of ids, 1]: independent of padding, like CLIP's. */
function fakeSession(inputs: SessionIOInfo[], width: number | string = 3) {
  const calls: Record<string, PortTensor>[] = [];
  const session: PortSession = {
    inputs,
    outputs: [{ name: "text_embeds", type: "float32", shape: ["batch", width] }],
    async run(feeds) {
      calls.push(feeds);
      const ids = feeds.input_ids;
      const [b, l] = ids.dims;
      const data = new Float32Array(b * 3);
      for (let r = 0; r < b; r++) {
        for (let k = 0; k < l; k++) {
          const id = Number(ids.data[r * l + k]);
          if (id !== PAD) {
            data[r * 3] += id;
            data[r * 3 + 1] += 1;
          }
        }
        data[r * 3 + 2] = 1;
      }
      return { text_embeds: { type: "float32", data, dims: [b, 3] } };
    },
    async release() {},
  };
  return { session, calls };
}

const texts = ["a bb ccc", "dddd", "ee f"];
const expected = l2NormalizeRows(Float32Array.of(6, 3, 1, 4, 1, 1, 3, 2, 1), 3);

describe("CLIP text embedder", () => {
  it("feeds a model without attention_mask its int32 ids only", async () => {
    const { session, calls } = fakeSession([{ name: "input_ids", type: "int32" }]);
    const embedder = await ClipTextEmbedder.fromSession(session, tokenizer, { modelId: "m" });
    expect(embedder.width).toBe(3);
    expect(Array.from(await embedder.embed(texts))).toEqual(Array.from(expected));
    expect(Object.keys(calls[0])).toEqual(["input_ids"]);
    expect(calls[0].input_ids.type).toBe("int32");
  });

  it("adds an int64 attention_mask when the model declares one", async () => {
    const { session, calls } = fakeSession([
      { name: "input_ids", type: "int64" },
      { name: "attention_mask", type: "int64" },
    ]);
    const embedder = await ClipTextEmbedder.fromSession(session, tokenizer, { modelId: "m" });
    await embedder.embed(["a bb"]);
    expect(calls[0].input_ids.data).toEqual(BigInt64Array.of(1n, 2n));
    expect(calls[0].attention_mask.data).toEqual(BigInt64Array.of(1n, 1n));
  });

  it("returns rows in input order from length-sorted batches", async () => {
    const { session, calls } = fakeSession([{ name: "input_ids" }]);
    const embedder = await ClipTextEmbedder.fromSession(session, tokenizer, {
      modelId: "m",
      batchSize: 2,
    });
    const done: number[] = [];
    const got = await embedder.embed(texts, (n) => done.push(n));
    expect(Array.from(got)).toEqual(Array.from(expected));
    // shortest two first ("dddd", "ee f"), then "a bb ccc"
    expect(calls.map((c) => c.input_ids.dims)).toEqual([
      [2, 2],
      [1, 3],
    ]);
    expect(done).toEqual([2, 3]);
  });

  it("probes the width when the output's is symbolic, and checks a given one", async () => {
    const { session } = fakeSession([{ name: "input_ids" }], "dim");
    const probed = await ClipTextEmbedder.fromSession(session, tokenizer, { modelId: "m" });
    expect(probed.width).toBe(3);
    const wrong = await ClipTextEmbedder.fromSession(session, tokenizer, {
      modelId: "m",
      width: 4,
    });
    await expect(wrong.embed(["a"])).rejects.toThrow(ShapeError);
  });

  it("refuses a model without text_embeds, naming the output", async () => {
    const { session } = fakeSession([{ name: "input_ids" }]);
    const bad = { ...session, outputs: [{ name: "pooler_output" }] };
    await expect(ClipTextEmbedder.fromSession(bad, tokenizer, { modelId: "m" })).rejects.toThrow(
      ModelLoadError,
    );
  });
});
