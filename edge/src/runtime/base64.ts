/**
 * base64 for bytes, and for float32 vectors as their bytes (platform order, little-endian on every
 * Workers host): the form D1 keeps a prompt embedding in, a quarter of the bytes of JSON text and
 * no number parsing on read (D1 would hand a BLOB back as an array of numbers). atob/btoa are the
 * runtime's base64 (Uint8Array.fromBase64 exists in workerd but not in TypeScript's lib yet).
 */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  // Chunks keep fromCharCode's argument list far below engines' limits.
  for (let i = 0; i < bytes.length; i += 8192)
    binary += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(binary);
}

export function float32ToBase64(v: Float32Array): string {
  return bytesToBase64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
}

/** The inverse; undefined when the text is not base64 of whole float32 values. */
export function float32FromBase64(text: string): Float32Array | undefined {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return undefined;
  }
  if (binary.length % 4 !== 0) return undefined;
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}
