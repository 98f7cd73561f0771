/**
 * Every file of the three mini-world model folders, as (relative path -> bytes), built in memory
 * from the repo's own code and data: the diffusers ONNX layout (SPEC §2; mirrors
 * fixtures/tiny-sd2) and two embedding models in the transformers.js layout (mirrors
 * fixtures/tiny-clip). Pure and deterministic: the same source gives the same bytes.
 */
import { diffusersConfigs, embeddingConfigs } from "./config-files";
import { textEncoderGraph, unetGraph, vaeDecoderGraph } from "./diffusion-graphs";
import { clipTextGraph, clipVisionGraph, dreamsimVisionGraph } from "./embedding-graphs";
import { buildLexiconTable } from "./lexicon-table";
import { clipTokenizerJson, clipVocab, VOCAB_SIZE } from "./tokenize";
import { sigmaTable } from "./world-config";
import { json, worldTables } from "./world-spec";

export const MODEL_DIRS = {
  diffusion: "mini-world",
  clip: "mini-world-clip",
  dreamsim: "mini-world-dreamsim",
} as const;

export type FileSet = Map<string, Uint8Array>;

const enc = new TextEncoder();

/** tokenizer.json with the pad token's added-token entry (SD2 pads with "!" = id 0). */
export function tokenizerFiles(padBang: boolean): Record<string, Uint8Array> {
  const tj = clipTokenizerJson();
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const added = [special(49406, "<|startoftext|>"), special(49407, "<|endoftext|>")];
  const withPad = { ...tj, added_tokens: padBang ? [special(0, "!"), ...added] : added };
  const model = tj.model as { vocab: Record<string, number>; merges: [string, string][] };
  return {
    "tokenizer.json": enc.encode(JSON.stringify(withPad, null, 2)),
    "tokenizer_config.json": json({
      backend: "tokenizers",
      bos_token: "<|startoftext|>",
      eos_token: "<|endoftext|>",
      model_max_length: 77,
      pad_token: padBang ? "!" : "<|endoftext|>",
      tokenizer_class: "CLIPTokenizer",
      unk_token: "<|endoftext|>",
    }),
    "vocab.json": enc.encode(JSON.stringify(model.vocab)),
    "merges.txt": enc.encode(`#version: 0.2\n${model.merges.map((m) => m.join(" ")).join("\n")}\n`),
  };
}

export interface BuiltModels {
  files: FileSet;
  /** Lexicon words that are not single BPE tokens (reported by the builder). */
  missingWords: string[];
}

/** Builds all files, keyed "mini-world/unet/model.onnx" etc. */
export function buildModelFiles(): BuiltModels {
  const lex = buildLexiconTable(clipVocab(), VOCAB_SIZE);
  const tables = worldTables();
  const files: FileSet = new Map();
  const put = (dir: string, rel: string, bytes: Uint8Array) => files.set(`${dir}/${rel}`, bytes);

  const d = MODEL_DIRS.diffusion;
  for (const [rel, bytes] of Object.entries(diffusersConfigs())) put(d, rel, bytes);
  for (const [rel, bytes] of Object.entries(tokenizerFiles(true)))
    put(d, `tokenizer/${rel}`, bytes);
  put(d, "text_encoder/model.onnx", textEncoderGraph(lex, tables));
  put(d, "unet/model.onnx", unetGraph(tables, sigmaTable()));
  put(d, "vae_decoder/model.onnx", vaeDecoderGraph(tables));

  const c = MODEL_DIRS.clip;
  for (const [rel, bytes] of Object.entries(tokenizerFiles(false))) put(c, rel, bytes);
  put(c, "onnx/text_model.onnx", clipTextGraph(lex));
  put(c, "onnx/vision_model.onnx", clipVisionGraph());
  const e = MODEL_DIRS.dreamsim;
  put(e, "onnx/vision_model.onnx", dreamsimVisionGraph());
  for (const [rel, bytes] of Object.entries(embeddingConfigs())) files.set(rel, bytes);
  return { files, missingWords: lex.missing };
}
