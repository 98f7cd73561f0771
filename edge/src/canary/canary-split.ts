/**
 * Which prompts a canary serves: those whose bucket, the first 32 bits of
 * sha256(candidate version + "\n" + prompt) read as a fraction of 2^32, falls below the share.
 * The same prompt always lands on the same side (a user who repeats a prompt sees one bundle),
 * raising the share only adds prompts, and each candidate draws its own slice of prompts.
 */
import { sha256, sha256Hex } from "../runtime/sha256";

export async function promptBucket(candidate: string, prompt: string): Promise<number> {
  const d = await sha256(`${candidate}\n${prompt}`);
  return (((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0) / 2 ** 32;
}

/** sha256(prompt), hex: how a canary sample names its prompt without keeping it. */
export async function promptDigest(prompt: string): Promise<string> {
  return sha256Hex(prompt);
}
