/**
 * Layout of a run's image files: `images/p<promptId>/s<seed>_t<steps>.png`, written atomically
 * (temporary name, then rename) so a file under its final name is always complete.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface ImageKey {
  promptId: number;
  steps: number;
  seed: number;
}

const FILE_PATTERN = /^s(\d+)_t(\d+)\.png$/;
const DIR_PATTERN = /^p(\d+)$/;
const TMP_MARKER = ".tmp-";

/** Path relative to the run directory. */
export function imageRelPath(key: ImageKey): string {
  return `images/p${key.promptId}/s${key.seed}_t${key.steps}.png`;
}

export function keyString(key: ImageKey): string {
  return `${key.promptId}/${key.steps}/${key.seed}`;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Writes `png` to a unique temporary name beside the target and renames it into place. */
export async function writeImageAtomic(
  runDir: string,
  key: ImageKey,
  png: Uint8Array,
): Promise<string> {
  const rel = imageRelPath(key);
  const target = join(runDir, rel);
  await mkdir(join(target, ".."), { recursive: true });
  const tmp = `${target}${TMP_MARKER}${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, png);
  await rename(tmp, target);
  return rel;
}

export interface ScannedImages {
  /** Complete image files under their final names. */
  complete: { key: ImageKey; rel: string }[];
  /** Leftover temporary files of an interrupted write (deleted by the scan). */
  removedTmp: number;
}

/** Lists complete images and deletes leftover temporary files. */
export async function scanImages(runDir: string): Promise<ScannedImages> {
  const root = join(runDir, "images");
  const complete: ScannedImages["complete"] = [];
  let removedTmp = 0;
  let dirs: string[];
  try {
    dirs = await readdir(root);
  } catch {
    return { complete, removedTmp };
  }
  for (const dir of dirs) {
    const dm = DIR_PATTERN.exec(dir);
    if (!dm) continue;
    for (const name of await readdir(join(root, dir))) {
      if (name.includes(TMP_MARKER)) {
        await rm(join(root, dir, name), { force: true });
        removedTmp++;
        continue;
      }
      const fm = FILE_PATTERN.exec(name);
      if (!fm) continue;
      const key = { promptId: Number(dm[1]), seed: Number(fm[1]), steps: Number(fm[2]) };
      complete.push({ key, rel: imageRelPath(key) });
    }
  }
  return { complete, removedTmp };
}
