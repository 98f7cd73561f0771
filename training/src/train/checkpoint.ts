/**
 * Training checkpoints: one file `checkpoint.bfck` =
 *   uint32 LE header length | UTF-8 JSON header | zero padding to 4 bytes | float32 LE blobs.
 * The header names each blob with its float offset and length (params, adam.m, adam.v, best).
 * Writes are atomic (write `<file>.tmp`, fsync, rename) so a crash never leaves a torn file.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { ModelLoadError } from "@budgetfusion/shared/errors";

const CHECKPOINT_FILE = "checkpoint.bfck";
const CHECKPOINT_FORMAT = "budgetfusion-predictor-checkpoint";

interface BlobRef {
  name: string;
  offset: number;
  length: number;
}

interface CheckpointHeader<M> {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  meta: M;
  blobs: BlobRef[];
}

export function writeCheckpoint<M>(
  dir: string,
  meta: M,
  blobs: Record<string, Float32Array>,
): string {
  mkdirSync(dir, { recursive: true });
  const refs: BlobRef[] = [];
  let off = 0;
  for (const [name, a] of Object.entries(blobs)) {
    refs.push({ name, offset: off, length: a.length });
    off += a.length;
  }
  const header: CheckpointHeader<M> = { format: CHECKPOINT_FORMAT, version: 1, meta, blobs: refs };
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const pad = (4 - ((4 + json.length) % 4)) % 4;
  const lead = Buffer.alloc(4 + json.length + pad);
  lead.writeUInt32LE(json.length, 0);
  json.copy(lead, 4);
  const path = join(dir, CHECKPOINT_FILE);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, lead);
    for (const a of Object.values(blobs))
      writeSync(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return path;
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, CHECKPOINT_FILE));
}

export function readCheckpoint<M>(dir: string): { meta: M; blobs: Map<string, Float32Array> } {
  const path = join(dir, CHECKPOINT_FILE);
  const buf = readFileSync(path);
  if (buf.length < 4)
    throw new ModelLoadError(`${path}: truncated checkpoint`, { field: "checkpoint" });
  const len = buf.readUInt32LE(0);
  let header: CheckpointHeader<M>;
  try {
    header = JSON.parse(buf.subarray(4, 4 + len).toString("utf8")) as CheckpointHeader<M>;
  } catch (cause) {
    throw new ModelLoadError(`${path}: unreadable checkpoint header`, {
      field: "checkpoint",
      cause,
    });
  }
  if (header.format !== CHECKPOINT_FORMAT || header.version !== 1)
    throw new ModelLoadError(`${path}: not a ${CHECKPOINT_FORMAT} v1 file`, {
      field: "checkpoint",
    });
  const base = 4 + len + ((4 - ((4 + len) % 4)) % 4);
  const blobs = new Map<string, Float32Array>();
  for (const b of header.blobs) {
    const start = base + b.offset * 4;
    if (start + b.length * 4 > buf.length)
      throw new ModelLoadError(`${path}: blob ${b.name} runs past the end`, {
        field: "checkpoint",
      });
    const a = new Float32Array(b.length);
    new Uint8Array(a.buffer).set(buf.subarray(start, start + b.length * 4));
    blobs.set(b.name, a);
  }
  return { meta: header.meta, blobs };
}
