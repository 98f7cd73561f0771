/**
 * Unit tests on a hand-built miniature CLIP tokenizer (vocabulary of single letters plus
 * "ab</w>"), so the truncation, padding and loader rules are checked with ids written out by
 * hand. Parity with transformers on the real vocabulary is test/golden/tokenizer.test.ts.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, ModelLoadError, NotFoundError, ValidationError } from "../errors";
import { ClipTokenizer, loadClipTokenizer } from "./clip-tokenizer";

const SPLIT =
  "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";
const vocab: Record<string, number> = {
  "!": 0,
  a: 1,
  b: 2,
  "a</w>": 3,
  "b</w>": 4,
  "ab</w>": 5,
  "<|startoftext|>": 6,
  "<|endoftext|>": 7,
};
const special = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});
const tokenizerJson = {
  version: "1.0",
  truncation: null,
  padding: null,
  added_tokens: [special(6, "<|startoftext|>"), special(7, "<|endoftext|>")],
  normalizer: { type: "Lowercase" },
  pre_tokenizer: {
    type: "Sequence",
    pretokenizers: [
      { type: "Split", pattern: { Regex: SPLIT }, behavior: "Removed", invert: true },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  },
  post_processor: {
    type: "RobertaProcessing",
    sep: ["<|endoftext|>", 7],
    cls: ["<|startoftext|>", 6],
    trim_offsets: false,
    add_prefix_space: false,
  },
  decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: {
    type: "BPE",
    dropout: null,
    unk_token: "<|endoftext|>",
    continuing_subword_prefix: "",
    end_of_word_suffix: "</w>",
    fuse_unk: false,
    byte_fallback: false,
    ignore_merges: false,
    vocab,
    merges: [["a", "b</w>"]],
  },
};
const sd2Config = { model_max_length: 5, pad_token: "!", eos_token: "<|endoftext|>" };

describe("ClipTokenizer", () => {
  const tok = ClipTokenizer.fromJson(tokenizerJson, sd2Config);

  it("takes length, pad and eos from the config", () => {
    expect([tok.maxLength, tok.padTokenId, tok.eosTokenId]).toEqual([5, 0, 7]);
  });

  it("pads to max_length with the pad token and masks the padding", () => {
    // "ab" merges into ab</w> (5); "a b" is two words a</w> b</w> (3, 4).
    const enc = tok.encode(["ab", "a b"]);
    expect(enc.length).toBe(5);
    expect(Array.from(enc.inputIds)).toEqual([6, 5, 7, 0, 0, 6, 3, 4, 7, 0]);
    expect(Array.from(enc.attentionMask)).toEqual([1, 1, 1, 0, 0, 1, 1, 1, 1, 0]);
  });

  it("pads to the longest row", () => {
    const enc = tok.encode(["", "a b"], { padding: "longest" });
    expect(enc.length).toBe(4);
    expect(Array.from(enc.inputIds)).toEqual([6, 7, 0, 0, 6, 3, 4, 7]);
    expect(Array.from(enc.attentionMask)).toEqual([1, 1, 0, 0, 1, 1, 1, 1]);
  });

  it("truncates keeping <|endoftext|> last", () => {
    // 5 words -> BOS + 5 + EOS = 7 tokens; keep BOS a a a, then EOS at position 4.
    const enc = tok.encode(["a a a a a"]);
    expect(Array.from(enc.inputIds)).toEqual([6, 3, 3, 3, 7]);
    expect(Array.from(enc.attentionMask)).toEqual([1, 1, 1, 1, 1]);
  });

  it("defaults to 77 and <|endoftext|> padding without a config", () => {
    const bare = ClipTokenizer.fromJson(tokenizerJson);
    expect([bare.maxLength, bare.padTokenId, bare.eosTokenId]).toEqual([77, 7, 7]);
    const enc = bare.encode(["a"]);
    expect(enc.inputIds.length).toBe(77);
    expect(Array.from(enc.inputIds.subarray(0, 4))).toEqual([6, 3, 7, 7]);
  });

  it("ignores transformers' 'unknown length' sentinel", () => {
    expect(ClipTokenizer.fromJson(tokenizerJson, { model_max_length: 1e30 }).maxLength).toBe(77);
  });

  it("uses tokenizer.json's padding pad_id when the config names none", () => {
    const withPadding = { ...tokenizerJson, padding: { pad_id: 0, pad_token: "!" } };
    expect(ClipTokenizer.fromJson(withPadding, {}).padTokenId).toBe(0);
  });

  it("rejects bad input naming the field", () => {
    expect(() => tok.encode([])).toThrow(ValidationError);
    expect(() => tok.encode(["a", 3 as unknown as string])).toThrow(
      expect.objectContaining({ field: "texts[1]" }),
    );
    expect(() => tok.encode(["a"], { padding: "none" as "longest" })).toThrow(
      expect.objectContaining({ field: "options.padding" }),
    );
  });

  it("rejects configs naming the key", () => {
    expect(() => ClipTokenizer.fromJson({})).toThrow(
      expect.objectContaining({ name: "ConfigError", field: "tokenizer.json.model" }),
    );
    expect(() => ClipTokenizer.fromJson(tokenizerJson, { pad_token: "<pad>" })).toThrow(
      expect.objectContaining({ field: "tokenizer_config.json.pad_token" }),
    );
    expect(() => ClipTokenizer.fromJson(tokenizerJson, { pad_token: 3 })).toThrow(ConfigError);
  });
});

describe("loadClipTokenizer", () => {
  const files: Record<string, string> = {
    "tokenizer.json": JSON.stringify(tokenizerJson),
    "tokenizer_config.json": JSON.stringify(sd2Config),
  };
  const reader = (present: Record<string, string>) => async (path: string) => {
    const text = present[path];
    if (text === undefined) throw new NotFoundError(`${path} missing`);
    return text;
  };

  it("reads both files through the injected reader", async () => {
    const tok = await loadClipTokenizer(reader(files));
    expect([tok.maxLength, tok.padTokenId]).toEqual([5, 0]);
  });

  it("treats tokenizer_config.json as optional", async () => {
    const tok = await loadClipTokenizer(reader({ "tokenizer.json": files["tokenizer.json"] }));
    expect([tok.maxLength, tok.padTokenId]).toEqual([77, 7]);
  });

  it("fails with ModelLoadError naming the file otherwise", async () => {
    await expect(loadClipTokenizer(reader({}))).rejects.toThrow(
      expect.objectContaining({ name: "ModelLoadError", field: "tokenizer.json" }),
    );
    await expect(loadClipTokenizer(reader({ ...files, "tokenizer.json": "{" }))).rejects.toThrow(
      ModelLoadError,
    );
    const failing = async (path: string) => {
      if (path === "tokenizer.json") return files[path];
      throw new Error("network down");
    };
    await expect(loadClipTokenizer(failing)).rejects.toThrow(
      expect.objectContaining({ field: "tokenizer_config.json" }),
    );
  });
});
