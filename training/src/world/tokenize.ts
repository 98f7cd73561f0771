/**
 * CLIP BPE tokenization to the pipeline's fixed 77-token layout (SPEC §2: truncation keeps
 * <|endoftext|> last; padding with the tokenizer's pad token), for the world's own tests, figures
 * and the text side of the embedding models. Uses @huggingface/tokenizers on the repo's copy of
 * the CLIP vocabulary (data/clip-bpe-tokenizer.json.gz).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { Tokenizer } from "@huggingface/tokenizers";

export const BOS_ID = 49406;
export const EOS_ID = 49407;
export const VOCAB_SIZE = 49408;
const HERE = dirname(fileURLToPath(import.meta.url));

/** The CLIP tokenizer.json as parsed JSON (the repo's single copy of the vocabulary). */
export function clipTokenizerJson(): Record<string, unknown> {
  const gz = readFileSync(join(HERE, "data", "clip-bpe-tokenizer.json.gz"));
  return JSON.parse(gunzipSync(gz).toString("utf8")) as Record<string, unknown>;
}

export interface ClipTokenizer {
  /** ids [prompts.length * 77] int32, padded with padId. */
  encode(prompts: readonly string[], padId: number): Int32Array;
  vocab: ReadonlyMap<string, number>;
}

export function clipTokenizer(): ClipTokenizer {
  const json = clipTokenizerJson();
  const tok = new Tokenizer(json, { model_max_length: 77 });
  const model = json.model as { vocab: Record<string, number> };
  const vocab = new Map(Object.entries(model.vocab));
  return {
    vocab,
    encode(prompts, padId) {
      const out = new Int32Array(prompts.length * 77).fill(padId);
      prompts.forEach((p, i) => {
        const ids = tok.encode(p).ids as number[];
        const body = ids.filter((id) => id !== BOS_ID && id !== EOS_ID).slice(0, 75);
        out.set([BOS_ID, ...body, EOS_ID], i * 77);
      });
      return out;
    },
  };
}
