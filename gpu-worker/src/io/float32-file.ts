/**
 * Raw little-endian float32 files, the CLI's tensor exchange format (--latents, --out-latents,
 * --out-image; the same format as fixtures/*.bin). Explicitly little-endian through DataView so
 * the files mean the same on any host.
 */
import { readFile, writeFile } from "node:fs/promises";
import { ShapeError, ValidationError } from "@budgetfusion/shared/errors";

export async function readFloat32File(
  path: string,
  expectedCount: number,
  field: string,
): Promise<Float32Array> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (cause) {
    throw new ValidationError(`cannot read ${field} file ${path}`, { field, cause });
  }
  if (buf.byteLength !== expectedCount * 4) {
    throw new ShapeError(
      `${field} file ${path} has ${buf.byteLength} bytes, expected ${expectedCount * 4} (${expectedCount} float32 values)`,
      { field },
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out = new Float32Array(expectedCount);
  for (let i = 0; i < expectedCount; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

export async function writeFloat32File(path: string, data: Float32Array): Promise<void> {
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  await writeFile(path, bytes);
}
