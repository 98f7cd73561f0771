/**
 * Bearer secrets the edge issues: consumer API keys ("bf_") and GPU worker credentials ("bfw_"),
 * each a tag + 32 random bytes (base64url), stored only as their SHA-256 digest.
 * A fast digest suffices: a secret carries 256 bits of entropy, so its digest reveals nothing that
 * could be searched (slow hashes such as argon2 protect low-entropy passwords), and a
 * deterministic digest lets a request's secret be found with one indexed lookup.
 */
import { sha256Hex } from "../runtime/sha256";

const API_KEY_TAG = "bf_";
export const WORKER_CREDENTIAL_TAG = "bfw_";
/** Characters shown in lists after the tag: enough to tell secrets apart, never to use one. */
const PREFIX_CHARS = 6;

export function newSecret(tag: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const base64 = btoa(String.fromCharCode(...bytes));
  return tag + base64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function newApiKey(): string {
  return newSecret(API_KEY_TAG);
}

/** The tag (up to its first "_") and PREFIX_CHARS more. */
export function keyPrefix(secret: string): string {
  return secret.slice(0, secret.indexOf("_") + 1 + PREFIX_CHARS);
}

export async function keyDigest(secret: string): Promise<string> {
  return sha256Hex(secret);
}
