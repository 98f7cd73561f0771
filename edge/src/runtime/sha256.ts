/**
 * SHA-256 on the runtime's Web Crypto, as bytes or lowercase hex: the edge's one digest helper
 * (cache keys, prompt digests, API-key digests, bundle checksums). The hex goes through a
 * 256-entry table rather than spreading the digest into per-byte strings: it runs several times
 * on every budget request.
 */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

export async function sha256(data: string | Uint8Array): Promise<Uint8Array> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const b of bytes) hex += HEX[b];
  return hex;
}

export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  return toHex(await sha256(data));
}
