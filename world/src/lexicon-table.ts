/**
 * Turns the keyword lexicon into the text encoder's lookup tables over the CLIP BPE vocabulary:
 * token id -> slot, slot -> C_LEX features. Slot 0: an ordinary word with no lexicon entry
 * (presence 1, hash on); slot 1: special or non-word tokens (<|startoftext|>, <|endoftext|>,
 * the pad "!", punctuation, digits): all zero, so padding and punctuation never change a prompt.
 */
import { lexicon, type WordEntry, wordFeatures } from "./lexicon";
import { C_LEX, FEATURE } from "./world-spec";

export interface LexiconTable {
  /** Slot of every token id [vocabSize]. */
  slotOf: Int32Array;
  /** Features per slot [slots, C_LEX]. */
  features: Float32Array;
  slots: number;
  /** Lexicon words that are not one BPE token (they fall back to ordinary words). */
  missing: string[];
}

const WORD_TOKEN = /^[a-z]+(<\/w>)?$/;

export function buildLexiconTable(
  vocab: ReadonlyMap<string, number>,
  vocabSize: number,
): LexiconTable {
  const words = [...lexicon().entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const slotOf = new Int32Array(vocabSize).fill(1);
  for (const [token, id] of vocab) {
    if (id < vocabSize && WORD_TOKEN.test(token)) slotOf[id] = 0;
  }
  const rows: Float32Array[] = [new Float32Array(C_LEX), new Float32Array(C_LEX)];
  rows[0][FEATURE.presence] = 1;
  const missing: string[] = [];
  const addWord = (word: string, entry: WordEntry) => {
    const id = vocab.get(`${word}</w>`);
    if (id === undefined) {
      missing.push(word);
      return;
    }
    slotOf[id] = rows.length;
    rows.push(wordFeatures(entry));
  };
  for (const [word, entry] of words) addWord(word, entry);
  const features = new Float32Array(rows.length * C_LEX);
  rows.forEach((r, i) => {
    features.set(r, i * C_LEX);
  });
  return { slotOf, features, slots: rows.length, missing };
}
