/**
 * `npm run world:build [-- --out DIR] [--check]`: writes the mini-world model folders
 * (artifacts/models/mini-world, -clip, -dreamsim) and prints each file with its size and sha256.
 * Deterministic: a second run writes the same bytes. `--check` only verifies that the folders on
 * disk match what the code builds (exit 1 otherwise). Set-up calls ensureWorldModels().
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { WORLD_FORMAT_VERSION } from "./config-files";
import { buildModelFiles, MODEL_DIRS } from "./model-files";

export const DEFAULT_MODELS_ROOT = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../artifacts/models",
);

export interface WrittenFile {
  path: string;
  bytes: number;
  sha256: string;
}

/** Builds and writes every file under `root`; returns what it wrote. */
export function writeWorldModels(root = DEFAULT_MODELS_ROOT): WrittenFile[] {
  const { files } = buildModelFiles();
  const out: WrittenFile[] = [];
  for (const [rel, bytes] of [...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    out.push({
      path,
      bytes: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
    });
  }
  return out;
}

/** True when the folders under `root` exist and carry this code's format version. */
export function worldModelsCurrent(root = DEFAULT_MODELS_ROOT): boolean {
  const stamp = join(root, MODEL_DIRS.diffusion, "mini_world.json");
  if (!existsSync(stamp)) return false;
  try {
    const v = (JSON.parse(readFileSync(stamp, "utf8")) as { format_version?: number })
      .format_version;
    return (
      v === WORLD_FORMAT_VERSION &&
      existsSync(join(root, MODEL_DIRS.clip, "onnx/vision_model.onnx")) &&
      existsSync(join(root, MODEL_DIRS.dreamsim, "onnx/vision_model.onnx"))
    );
  } catch {
    return false;
  }
}

/** Set-up hook: builds the world's models when missing or stale; returns whether it built. */
export function ensureWorldModels(root = DEFAULT_MODELS_ROOT): boolean {
  if (worldModelsCurrent(root)) return false;
  writeWorldModels(root);
  return true;
}

/** Paths under `root` whose bytes differ from a fresh build. */
export function staleWorldFiles(root = DEFAULT_MODELS_ROOT): string[] {
  const { files } = buildModelFiles();
  return [...files.entries()]
    .filter(([rel, bytes]) => {
      const path = join(root, rel);
      return !existsSync(path) || !Buffer.from(readFileSync(path)).equals(Buffer.from(bytes));
    })
    .map(([rel]) => rel);
}

function main(argv: string[]): void {
  const outIdx = argv.indexOf("--out");
  const root = outIdx >= 0 && argv[outIdx + 1] ? resolve(argv[outIdx + 1]) : DEFAULT_MODELS_ROOT;
  if (argv.includes("--check")) {
    const stale = staleWorldFiles(root);
    for (const rel of stale) console.log(`differs: ${rel}`);
    console.log(
      stale.length === 0 ? "mini-world models are up to date" : `${stale.length} files differ`,
    );
    process.exitCode = stale.length === 0 ? 0 : 1;
    return;
  }
  const { missingWords } = buildModelFiles();
  const written = writeWorldModels(root);
  for (const f of written)
    console.log(`${f.sha256.slice(0, 12)}  ${String(f.bytes).padStart(9)}  ${f.path}`);
  const total = written.reduce((a, f) => a + f.bytes, 0);
  console.log(`wrote ${written.length} files, ${(total / 1e6).toFixed(2)} MB under ${root}`);
  if (missingWords.length > 0)
    console.log(`lexicon words that are not one BPE token (ignored): ${missingWords.join(", ")}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  main(process.argv.slice(2));
