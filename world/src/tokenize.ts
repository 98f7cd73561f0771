/**
 * The CLIP BPE vocabulary of the mini world (the repo's single copy,
 * data/clip-bpe-tokenizer.json.gz) and a prompt encoder for the world's tests and figures that
 * uses the project's own CLIP tokenizer (shared/src/tokenizer/clip-tokenizer.ts, SPEC §2: 77
 * tokens, truncation keeps <|endoftext|>, padding with the folder's pad token) on a built
 * tokenizer folder, exactly as the GPU worker's pipeline does.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { loadClipTokenizer, type ReadText } from "@budgetfusion/shared/tokenizer/clip-tokenizer";

export const VOCAB_SIZE = 49408;
const HERE = dirname(fileURLToPath(import.meta.url));

/** The CLIP tokenizer.json as parsed JSON. */
export function clipTokenizerJson(): Record<string, unknown> {
  const gz = readFileSync(join(HERE, "data", "clip-bpe-tokenizer.json.gz"));
  return JSON.parse(gunzipSync(gz).toString("utf8")) as Record<string, unknown>;
}

/** BPE token string -> id ("red</w>" -> 736). */
export function clipVocab(): Map<string, number> {
  const model = clipTokenizerJson().model as { vocab: Record<string, number> };
  return new Map(Object.entries(model.vocab));
}

export interface PromptEncoder {
  /** input_ids [prompts.length, 77] row-major, padded to 77. */
  encode(prompts: readonly string[]): Int32Array;
}

/** Loads a tokenizer folder (tokenizer.json + tokenizer_config.json) through `readText`. */
export async function promptEncoder(readText: ReadText): Promise<PromptEncoder> {
  const tok = await loadClipTokenizer(readText);
  return { encode: (prompts) => tok.encode(prompts, { padding: "max_length" }).inputIds };
}
