/**
 * `npm run world:build [-- --world v1|v2] [--out DIR] [--check]`: writes a world's model folders
 * under artifacts/models (v1: mini-world{,-clip,-dreamsim}; v2: mini-world-v2{,-clip,-dreamsim})
 * and prints each file with its size and sha256. Deterministic: a second run writes the same
 * bytes. `--check` only verifies that the folders on disk match what the code builds (exit 1
 * otherwise). Set-up calls ensureWorldModels().
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { FileSet } from "./model-files";
import { DEFAULT_WORLD, isWorldName, WORLD_NAMES, WORLDS, type WorldName } from "./worlds";

export const DEFAULT_MODELS_ROOT = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../artifacts/models",
);

export interface WrittenFile {
  path: string;
  bytes: number;
  sha256: string;
}

/** Builds and writes every file of `world` under `root`; returns what it wrote. */
export function writeWorldModels(
  root = DEFAULT_MODELS_ROOT,
  world: WorldName = DEFAULT_WORLD,
): WrittenFile[] {
  return writeFiles(root, WORLDS[world].build().files);
}

function writeFiles(root: string, files: FileSet): WrittenFile[] {
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

/** True when the folders of `world` under `root` exist and carry this code's format version. */
export function worldModelsCurrent(
  root = DEFAULT_MODELS_ROOT,
  world: WorldName = DEFAULT_WORLD,
): boolean {
  const { dirs, formatVersion } = WORLDS[world];
  const stamp = join(root, dirs.diffusion, "mini_world.json");
  if (!existsSync(stamp)) return false;
  try {
    const v = (JSON.parse(readFileSync(stamp, "utf8")) as { format_version?: number })
      .format_version;
    return (
      v === formatVersion &&
      existsSync(join(root, dirs.clip, "onnx/vision_model.onnx")) &&
      existsSync(join(root, dirs.dreamsim, "onnx/vision_model.onnx"))
    );
  } catch {
    return false;
  }
}

/** Set-up hook: builds the world's models when missing or stale; returns whether it built. */
export function ensureWorldModels(
  root = DEFAULT_MODELS_ROOT,
  world: WorldName = DEFAULT_WORLD,
): boolean {
  if (worldModelsCurrent(root, world)) return false;
  writeWorldModels(root, world);
  return true;
}

/** Paths under `root` whose bytes differ from a fresh build of `world`. */
export function staleWorldFiles(
  root = DEFAULT_MODELS_ROOT,
  world: WorldName = DEFAULT_WORLD,
): string[] {
  const { files } = WORLDS[world].build();
  return [...files.entries()]
    .filter(([rel, bytes]) => {
      const path = join(root, rel);
      return !existsSync(path) || !Buffer.from(readFileSync(path)).equals(Buffer.from(bytes));
    })
    .map(([rel]) => rel);
}

function main(argv: string[]): void {
  const flag = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const out = flag("--out");
  const root = out ? resolve(out) : DEFAULT_MODELS_ROOT;
  const world = flag("--world") ?? DEFAULT_WORLD;
  if (!isWorldName(world)) {
    console.error(`--world must be one of ${WORLD_NAMES.join(", ")}, got ${world}`);
    process.exitCode = 2;
    return;
  }
  if (argv.includes("--check")) {
    const stale = staleWorldFiles(root, world);
    for (const rel of stale) console.log(`differs: ${rel}`);
    console.log(
      stale.length === 0 ? `world ${world} models are up to date` : `${stale.length} files differ`,
    );
    process.exitCode = stale.length === 0 ? 0 : 1;
    return;
  }
  const { files, notes } = WORLDS[world].build();
  const written = writeFiles(root, files);
  for (const f of written)
    console.log(`${f.sha256.slice(0, 12)}  ${String(f.bytes).padStart(9)}  ${f.path}`);
  const total = written.reduce((a, f) => a + f.bytes, 0);
  console.log(`wrote ${written.length} files, ${(total / 1e6).toFixed(2)} MB under ${root}`);
  for (const note of notes) console.log(note);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  main(process.argv.slice(2));
