/**
 * The worlds this package builds, by name: `v1` (the spectral mixture of docs/mini-world.md) and
 * `v2` (docs/world-v2.md, the default: the world of the claim run and of the bundle `npm start`
 * serves). The build, set-up and the training chain's `--world` pick one here.
 */
import { WORLD_FORMAT_VERSION } from "./config-files";
import { buildModelFiles, type FileSet, MODEL_DIRS } from "./model-files";
import { buildModelFilesV2, MODEL_DIRS_V2, WORLD_V2_FORMAT_VERSION } from "./v2/model-files";
import { RECOMMENDED_GUIDANCE } from "./world-config";

export interface WorldDefinition {
  name: string;
  dirs: { diffusion: string; clip: string; dreamsim: string };
  formatVersion: number;
  guidance: number;
  /** Image side the chain generates at. */
  imageSize: number;
  build(): { files: FileSet; notes: string[] };
}

export const WORLDS = {
  v1: {
    name: "v1",
    dirs: MODEL_DIRS,
    formatVersion: WORLD_FORMAT_VERSION,
    guidance: RECOMMENDED_GUIDANCE,
    imageSize: 128,
    build() {
      const { files, missingWords } = buildModelFiles();
      return {
        files,
        notes: missingWords.length
          ? [`lexicon words that are not one BPE token (ignored): ${missingWords.join(", ")}`]
          : [],
      };
    },
  },
  v2: {
    name: "v2",
    dirs: MODEL_DIRS_V2,
    formatVersion: WORLD_V2_FORMAT_VERSION,
    guidance: RECOMMENDED_GUIDANCE,
    imageSize: 128,
    build() {
      const { files, dropped } = buildModelFilesV2();
      return {
        files,
        notes: [
          `${dropped.length} lexicon words are several BPE tokens and read as unknown words: ${dropped.join(", ")}`,
        ],
      };
    },
  },
} as const satisfies Record<string, WorldDefinition>;

export type WorldName = keyof typeof WORLDS;
export const WORLD_NAMES = Object.keys(WORLDS) as WorldName[];
export const DEFAULT_WORLD: WorldName = "v2";

export function isWorldName(v: string): v is WorldName {
  return (WORLD_NAMES as string[]).includes(v);
}
