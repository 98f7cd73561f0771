/**
 * Bearer secrets the edge issues: consumer API keys ("bf_") and GPU worker credentials ("bfw_"),
 * each a tag + 32 random bytes (base64url), stored only as their SHA-256 digest.
 * A fast digest suffices: a secret carries 256 bits of entropy, so its digest reveals nothing that
 * could be searched (slow hashes such as argon2 protect low-entropy passwords), and a
 * deterministic digest lets a request's secret be found with one indexed lookup.
 */
import { bytesToBase64 } from "../runtime/base64";
import { sha256Hex } from "../runtime/sha256";

export const API_KEY_TAG = "bf_";
export const WORKER_CREDENTIAL_TAG = "bfw_";
/** Characters shown in lists after the tag: enough to tell secrets apart, never to use one. */
const PREFIX_CHARS = 6;

function newSecret(tag: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const base64 = bytesToBase64(bytes);
  return tag + base64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A new secret, shown to its owner once, and what the edge keeps of it. */
export async function issueSecret(
  tag: string,
): Promise<{ secret: string; digest: string; prefix: string }> {
  const secret = newSecret(tag);
  return { secret, digest: await keyDigest(secret), prefix: keyPrefix(secret) };
}

/** The tag (up to its first "_") and PREFIX_CHARS more. */
function keyPrefix(secret: string): string {
  return secret.slice(0, secret.indexOf("_") + 1 + PREFIX_CHARS);
}

export async function keyDigest(secret: string): Promise<string> {
  return sha256Hex(secret);
}
