/**
 * CLIP BPE tokenizer for the text encoder (SPEC §2 "Tokenizer", §4 prompt embedding): 77 tokens,
 * truncation that keeps `<|endoftext|>` as the last token, padding with the tokenizer's own pad
 * token (`!`, id 0, for SD2; `<|endoftext|>` for OpenAI CLIP).
 *
 * The BPE itself is @huggingface/tokenizers (the pure-JS tokenizer library that transformers.js 4
 * uses internally). We call it directly rather than through transformers.js so that shared/ and
 * the edge bundle never pull in onnxruntime. This module only adds what a diffusion pipeline needs
 * on top: the truncation rule, the pad-token choice and the batched [B, L] int32 layout.
 * Agreement with transformers' CLIPTokenizerFast is guarded by test/golden/tokenizer.test.ts.
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { z } from "zod";
import { ConfigError, ModelLoadError, ValidationError } from "../errors";
import { issueField } from "../schemas/zod-issues";

/** CLIP's context length; used when the config gives no usable `model_max_length`. */
const CLIP_MAX_LENGTH = 77;
const EOS_TOKEN = "<|endoftext|>";

type PaddingMode = "max_length" | "longest";

export interface ClipEncodeOptions {
  /** "max_length" (default): every row has `maxLength` tokens, as the SD pipeline feeds them;
   * "longest": rows are padded to the longest row of the batch. */
  padding?: PaddingMode;
}

export interface ClipEncoding {
  /** Token ids, [B, L] row-major. */
  inputIds: Int32Array;
  /** 1 for real tokens (including BOS/EOS), 0 for padding; [B, L] row-major. */
  attentionMask: Int32Array;
  /** L, the row length. */
  length: number;
}

/** A token in tokenizer_config.json is either its text or an AddedToken object `{content}`. */
const tokenRefSchema = z.union([z.string(), z.object({ content: z.string() })]).nullish();

const tokenizerConfigSchema = z.looseObject({
  model_max_length: z.number().optional(),
  pad_token: tokenRefSchema,
  eos_token: tokenRefSchema,
});

const tokenizerJsonSchema = z.looseObject({
  model: z.looseObject({ type: z.string() }),
  padding: z.looseObject({ pad_id: z.number().int().nonnegative() }).nullish(),
});

const encodeOptionsSchema = z
  .object({ padding: z.enum(["max_length", "longest"]).default("max_length") })
  .strict();

function tokenText(ref: z.infer<typeof tokenRefSchema>): string | undefined {
  if (ref === null || ref === undefined) return undefined;
  return typeof ref === "string" ? ref : ref.content;
}

export class ClipTokenizer {
  /** Row length with max_length padding, and the truncation length (77 for CLIP). */
  readonly maxLength: number;
  readonly padTokenId: number;
  readonly eosTokenId: number;
  readonly #tokenizer: Tokenizer;

  private constructor(tokenizer: Tokenizer, maxLength: number, padId: number, eosId: number) {
    this.#tokenizer = tokenizer;
    this.maxLength = maxLength;
    this.padTokenId = padId;
    this.eosTokenId = eosId;
  }

  /**
   * Builds the tokenizer from parsed `tokenizer.json` and (optional) `tokenizer_config.json`.
   * Pad token: the config's `pad_token`, else tokenizer.json's padding `pad_id`, else
   * `<|endoftext|>` (OpenAI CLIP). Throws ConfigError naming the offending key.
   */
  static fromJson(tokenizerJson: unknown, tokenizerConfig?: unknown): ClipTokenizer {
    const json = tokenizerJsonSchema.safeParse(tokenizerJson);
    if (!json.success) {
      throw new ConfigError(`tokenizer.json: ${json.error.issues[0]?.message}`, {
        field: issueField(json.error.issues[0], "tokenizer.json"),
        cause: json.error,
      });
    }
    const cfg = tokenizerConfigSchema.safeParse(tokenizerConfig ?? {});
    if (!cfg.success) {
      throw new ConfigError(`tokenizer_config.json: ${cfg.error.issues[0]?.message}`, {
        field: issueField(cfg.error.issues[0], "tokenizer_config.json"),
        cause: cfg.error,
      });
    }
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(tokenizerJson as object, (tokenizerConfig ?? {}) as object);
    } catch (cause) {
      throw new ConfigError(`tokenizer.json cannot be loaded: ${String(cause)}`, {
        field: "tokenizer.json",
        cause,
      });
    }

    // transformers writes a huge sentinel (1e30) when the length is unknown; only trust a value
    // that can be a real context length.
    const mml = cfg.data.model_max_length;
    const maxLength =
      mml !== undefined && Number.isInteger(mml) && mml >= 2 && mml <= 65_536
        ? mml
        : CLIP_MAX_LENGTH;

    const eosText = tokenText(cfg.data.eos_token) ?? EOS_TOKEN;
    const eosId = tokenizer.token_to_id(eosText);
    if (eosId === undefined) {
      throw new ConfigError(`eos token ${JSON.stringify(eosText)} is not in the vocabulary`, {
        field: "tokenizer_config.json.eos_token",
      });
    }

    const padText = tokenText(cfg.data.pad_token);
    let padId: number | undefined;
    if (padText !== undefined) {
      padId = tokenizer.token_to_id(padText);
      if (padId === undefined) {
        throw new ConfigError(`pad token ${JSON.stringify(padText)} is not in the vocabulary`, {
          field: "tokenizer_config.json.pad_token",
        });
      }
    } else {
      padId = json.data.padding?.pad_id ?? eosId;
    }
    return new ClipTokenizer(tokenizer, maxLength, padId, eosId);
  }

  /**
   * Tokenizes a batch. Each row is `<|startoftext|> tokens... <|endoftext|>`; a row longer than
   * `maxLength` keeps its first `maxLength - 1` tokens and ends with `<|endoftext|>` (as
   * transformers truncates before adding special tokens: CLIP pools at the EOS position).
   */
  encode(texts: readonly string[], options: ClipEncodeOptions = {}): ClipEncoding {
    const opts = encodeOptionsSchema.safeParse(options);
    if (!opts.success) {
      throw new ValidationError(`invalid encode options: ${opts.error.issues[0]?.message}`, {
        field: issueField(opts.error.issues[0], "options"),
      });
    }
    if (!Array.isArray(texts) || texts.length === 0) {
      throw new ValidationError("texts must be a non-empty array of strings", { field: "texts" });
    }
    const rows = texts.map((text, i) => {
      if (typeof text !== "string") {
        throw new ValidationError(`texts[${i}] must be a string`, { field: `texts[${i}]` });
      }
      return this.#encodeOne(text);
    });
    const length =
      opts.data.padding === "max_length"
        ? this.maxLength
        : rows.reduce((m, r) => Math.max(m, r.length), 0);
    const inputIds = new Int32Array(rows.length * length).fill(this.padTokenId);
    const attentionMask = new Int32Array(rows.length * length);
    rows.forEach((row, b) => {
      inputIds.set(row, b * length);
      attentionMask.fill(1, b * length, b * length + row.length);
    });
    return { inputIds, attentionMask, length };
  }

  /** One row with special tokens, truncated to maxLength with its final special token kept. */
  #encodeOne(text: string): number[] {
    const ids = this.#tokenizer.encode(text, { add_special_tokens: true }).ids;
    if (ids.length <= this.maxLength) return ids;
    const last = ids[ids.length - 1];
    return [...ids.slice(0, this.maxLength - 1), last];
  }
}

/** Reads a file of a tokenizer folder by its relative path (fs in Node, R2 on the edge). */
export type ReadText = (relativePath: string) => Promise<string>;

function isMissingFile(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "not_found" || code === "ENOENT";
}

async function readJsonFile(readText: ReadText, path: string, optional: boolean) {
  let text: string;
  try {
    text = await readText(path);
  } catch (cause) {
    if (optional && isMissingFile(cause)) return undefined;
    throw new ModelLoadError(`cannot read ${path}`, { field: path, cause });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new ModelLoadError(`${path} is not valid JSON`, { field: path, cause });
  }
}

/**
 * Loads a tokenizer folder through an injected reader: `tokenizer.json` (required) and
 * `tokenizer_config.json` (optional: absent when the reader rejects with a NotFoundError, or an
 * error whose `code` is "ENOENT"). Any other read failure is a ModelLoadError.
 */
export async function loadClipTokenizer(readText: ReadText): Promise<ClipTokenizer> {
  const [json, config] = await Promise.all([
    readJsonFile(readText, "tokenizer.json", false),
    readJsonFile(readText, "tokenizer_config.json", true),
  ]);
  return ClipTokenizer.fromJson(json, config);
}
