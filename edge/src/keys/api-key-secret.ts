/**
 * Consumer API keys: "bf_" + 32 random bytes (base64url), stored only as their SHA-256 digest.
 * A fast digest suffices: a key carries 256 bits of entropy, so its digest reveals nothing that
 * could be searched (slow hashes such as argon2 protect low-entropy passwords), and a
 * deterministic digest lets a request's key be found with one indexed lookup.
 */
import { sha256Hex } from "../runtime/sha256";

const KEY_TAG = "bf_";
/** Characters shown in key lists: the tag and 6 more, enough to tell keys apart. */
const PREFIX_CHARS = KEY_TAG.length + 6;

export function newApiKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const base64 = btoa(String.fromCharCode(...bytes));
  return KEY_TAG + base64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function keyPrefix(key: string): string {
  return key.slice(0, PREFIX_CHARS);
}

export async function keyDigest(key: string): Promise<string> {
  return sha256Hex(key);
}
