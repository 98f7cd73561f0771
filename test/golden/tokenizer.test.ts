/**
 * Parity of shared/src/tokenizer/clip-tokenizer.ts with transformers' CLIPTokenizerFast on every
 * input_ids row the fixtures record: fixtures/refs-public/pipeline.json (tiny-sd2 tokenizer, pad
 * `!` = 0, max_length 77; the file records the conditional prompt rows only, negative prompts are
 * not tokenized there) and fixtures/refs-public/clip.json (tiny-clip tokenizer, pad
 * `<|endoftext|>`, padding to the longest row, one prompt longer than 77 tokens). Exact equality.
 */
import { readFile } from "node:fs/promises";
import { NotFoundError } from "@budgetfusion/shared/errors";
import { ClipTokenizer, loadClipTokenizer } from "@budgetfusion/shared/tokenizer/clip-tokenizer";
import { fixturePath, readJson } from "@budgetfusion/test-helpers/fixtures";
import { describe, expect, it } from "vitest";

interface PipelineCase {
  name: string;
  prompt: string | string[];
  negative_prompt: string | string[] | null;
  input_ids: number[][];
}
interface ClipRef {
  prompts: string[];
  input_ids: number[][];
  attention_mask: number[][];
}

const pipeline = readJson<{ cases: PipelineCase[] }>("refs-public", "pipeline.json");
const clip = readJson<ClipRef>("refs-public", "clip.json");

/** The fs reader a Node app would inject; a missing file becomes NotFoundError. */
function folderReader(dir: string) {
  return async (rel: string) => {
    try {
      return await readFile(fixturePath(dir, rel), "utf8");
    } catch (cause) {
      throw new NotFoundError(`${rel} not found`, { cause });
    }
  };
}

function rows(data: Int32Array, length: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < data.length; i += length) out.push(Array.from(data.subarray(i, i + length)));
  return out;
}

describe("tiny-sd2 tokenizer vs pipeline.json", async () => {
  const tok = await loadClipTokenizer(folderReader("tiny-sd2/tokenizer"));

  it("reads SD2's special tokens and length from the config", () => {
    expect(tok.maxLength).toBe(77);
    expect(tok.padTokenId).toBe(0);
    expect(tok.eosTokenId).toBe(49407);
  });

  it.each(pipeline.cases.map((c) => [c.name, c] as const))("%s: input_ids equal", (_, c) => {
    const prompts = typeof c.prompt === "string" ? [c.prompt] : c.prompt;
    expect(c.input_ids.length).toBe(prompts.length);
    const enc = tok.encode(prompts);
    expect(enc.length).toBe(77);
    expect(rows(enc.inputIds, enc.length)).toEqual(c.input_ids);
  });

  it("compares every recorded row", () => {
    const total = pipeline.cases.reduce((n, c) => n + c.input_ids.length, 0);
    expect(total).toBe(6);
  });

  it("keeps <|endoftext|> at position 76 for the >77-token prompt, as clip.json records", () => {
    // tiny-sd2 and tiny-clip share the OpenAI vocabulary and merges (identical vocab.json and
    // merges.txt), so the unpadded long row must equal clip.json's.
    const longIdx = clip.prompts.findIndex((_, i) => clip.attention_mask[i].every((m) => m === 1));
    const enc = tok.encode([clip.prompts[longIdx]]);
    expect(Array.from(enc.inputIds)).toEqual(clip.input_ids[longIdx]);
    expect(enc.inputIds[76]).toBe(49407);
  });
});

describe("tiny-clip tokenizer vs clip.json", async () => {
  const tok = await loadClipTokenizer(folderReader("tiny-clip"));

  it("pads with <|endoftext|>", () => {
    expect(tok.padTokenId).toBe(49407);
    expect(tok.eosTokenId).toBe(49407);
  });

  it("padding to the longest row reproduces all six rows and masks exactly", () => {
    const enc = tok.encode(clip.prompts, { padding: "longest" });
    expect(enc.length).toBe(clip.input_ids[0].length);
    expect(rows(enc.inputIds, enc.length)).toEqual(clip.input_ids);
    expect(rows(enc.attentionMask, enc.length)).toEqual(clip.attention_mask);
  });

  it("padding to the longest row of a short batch gives the short length", () => {
    const enc = tok.encode(clip.prompts.slice(0, 3), { padding: "longest" });
    // "a colorful park with a crowd" = BOS + 6 words + EOS = 8 tokens, the longest of the three.
    expect(enc.length).toBe(8);
    expect(rows(enc.inputIds, 8)).toEqual(clip.input_ids.slice(0, 3).map((r) => r.slice(0, 8)));
  });

  it("loads without tokenizer_config.json, falling back to <|endoftext|> padding", async () => {
    const json = JSON.parse(await readFile(fixturePath("tiny-clip", "tokenizer.json"), "utf8"));
    const bare = ClipTokenizer.fromJson(json);
    expect(bare.maxLength).toBe(77);
    expect(bare.padTokenId).toBe(49407);
    const enc = bare.encode(clip.prompts);
    expect(rows(enc.inputIds, 77)).toEqual(clip.input_ids);
  });
});
