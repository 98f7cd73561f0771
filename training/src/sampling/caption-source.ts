/**
 * Reads captions for prompt sampling (paper 3.1): a `.txt` file (one caption per line) or a
 * `.tsv` file with a header row and a named caption column. Junk lines are dropped (rules in
 * `isUsableCaption`), whitespace is normalised and exact duplicates (case-insensitive) are
 * removed keeping the first occurrence, so file order stays the reference order.
 */
import { readFile } from "node:fs/promises";
import { ValidationError } from "@budgetfusion/shared/errors";

export interface CaptionReadOptions {
  /** TSV column holding the caption (default "caption"); ignored for .txt files. */
  column?: string;
}

export interface CaptionReadResult {
  captions: string[];
  /** Lines read (excluding a TSV header). */
  total: number;
  /** Lines dropped as junk. */
  junk: number;
  /** Lines dropped as exact duplicates of an earlier caption. */
  duplicates: number;
}

const URL_PATTERN = /(https?:\/\/|www\.)\S+/i;
const LETTER = /\p{L}/gu;
const MIN_CHARS = 10;
const MIN_WORDS = 3;
const MAX_CHARS = 300;

/** Collapses whitespace and trims. */
function normalizeCaption(line: string): string {
  return line.replace(/\s+/g, " ").trim();
}

/**
 * A usable prompt: 10..300 characters, at least 3 words, no URL, and at least half of its
 * non-space characters are letters (drops ids, numbers, markup and punctuation runs).
 */
export function isUsableCaption(caption: string): boolean {
  if (caption.length < MIN_CHARS || caption.length > MAX_CHARS) return false;
  if (URL_PATTERN.test(caption)) return false;
  if (caption.split(" ").length < MIN_WORDS) return false;
  const letters = caption.match(LETTER)?.length ?? 0;
  return letters >= 0.5 * caption.replace(/\s/g, "").length;
}

/** Extracts raw caption lines from file text; `.tsv` (by name) uses the header's column. */
export function captionLines(
  text: string,
  fileName: string,
  options: CaptionReadOptions = {},
): string[] {
  const lines = text.split(/\r?\n/);
  if (!fileName.toLowerCase().endsWith(".tsv")) return lines.filter((l) => l.trim() !== "");
  const column = options.column ?? "caption";
  const header = (lines[0] ?? "").split("\t");
  const col = header.indexOf(column);
  if (col < 0) {
    throw new ValidationError(
      `TSV header has no column "${column}" (columns: ${header.join(", ")})`,
      {
        field: "column",
      },
    );
  }
  return lines
    .slice(1)
    .filter((l) => l.trim() !== "")
    .map((l) => l.split("\t")[col] ?? "");
}

/** Reads, cleans and de-duplicates the captions of `path` (one file or several), keeping file order. */
export async function readCaptions(
  path: string | readonly string[],
  options: CaptionReadOptions = {},
): Promise<CaptionReadResult> {
  // Several sources are read in order and deduplicated together.
  const paths = typeof path === "string" ? [path] : path;
  const raw: string[] = [];
  for (const p of paths) raw.push(...captionLines(await readFile(p, "utf8"), p, options));
  const seen = new Set<string>();
  const captions: string[] = [];
  let junk = 0;
  let duplicates = 0;
  for (const line of raw) {
    const caption = normalizeCaption(line);
    if (!isUsableCaption(caption)) {
      junk++;
      continue;
    }
    const key = caption.toLowerCase();
    if (seen.has(key)) {
      duplicates++;
      continue;
    }
    seen.add(key);
    captions.push(caption);
  }
  return { captions, total: raw.length, junk, duplicates };
}
