/**
 * Which predictor bundle `npm start` serves. An explicit choice (--bundle, BF_BUNDLE_DIR) is
 * uploaded and activated. Otherwise the default named in artifacts/bundles/DEFAULT is seeded
 * only on a state where no bundle is active yet: a restart keeps whatever the operator
 * activated through the admin API (or rolled back to), as a deployed edge would.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import {
  DEFAULT_BUNDLE_FILE,
  parseDefaultBundle,
} from "@budgetfusion/shared/predictor/default-bundle";
import { activeBundleVersion, REPO, seedBundle } from "./local-stack";

export const BUNDLES_ROOT = join(REPO, "artifacts", "bundles");

export interface BundleChoice {
  dir: string;
  /** Where the choice came from; anything but the DEFAULT file is the operator's explicit ask. */
  source: "--bundle" | "BF_BUNDLE_DIR" | typeof DEFAULT_BUNDLE_FILE;
}

/**
 * The bundle directory to serve: --bundle, else BF_BUNDLE_DIR, else the one DEFAULT names;
 * undefined when there is no DEFAULT file. A DEFAULT naming a folder without manifest.json
 * throws, naming both.
 */
export function chooseBundle(o: {
  flag?: string;
  env?: string;
  bundlesRoot?: string;
}): BundleChoice | undefined {
  if (o.flag) return { dir: resolve(o.flag), source: "--bundle" };
  if (o.env) return { dir: resolve(o.env), source: "BF_BUNDLE_DIR" };
  const root = o.bundlesRoot ?? BUNDLES_ROOT;
  const file = join(root, DEFAULT_BUNDLE_FILE);
  if (!existsSync(file)) return undefined;
  const dir = join(root, parseDefaultBundle(readFileSync(file, "utf8")));
  if (!existsSync(join(dir, "manifest.json")))
    throw new Error(
      `${relative(REPO, file)} names ${relative(REPO, dir)}, which has no manifest.json`,
    );
  return { dir, source: DEFAULT_BUNDLE_FILE };
}

export interface ServedBundle {
  version: string;
  /** true: an active bundle was already there and was left alone. */
  kept: boolean;
}

/** Applies the policy of the module header against a running edge. */
export async function serveBundle(
  edgeUrl: string,
  adminToken: string,
  choice: BundleChoice,
  fetchImpl?: typeof fetch,
): Promise<ServedBundle> {
  if (choice.source === DEFAULT_BUNDLE_FILE) {
    const active = await activeBundleVersion(edgeUrl, adminToken, fetchImpl);
    if (active !== undefined) return { version: active, kept: true };
  }
  return { version: await seedBundle(edgeUrl, adminToken, choice.dir, fetchImpl), kept: false };
}
