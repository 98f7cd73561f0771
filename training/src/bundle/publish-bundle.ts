/**
 * Publishing a bundle a run wrote: copy it, verified, into the committed bundles folder
 * (artifacts/bundles/<version>/) and, when asked, name it in that folder's DEFAULT file, the
 * bundle `npm start` serves on a fresh state. A run never writes there unless told to
 * (`npm run pipeline -- --publish [--set-default]`), so a smoke or experiment run cannot change
 * what is served. Publishing the same bundle again is a no-op; another bundle under a
 * published version's name is refused.
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ConfigError } from "@budgetfusion/shared/errors";
import {
  DEFAULT_BUNDLE_FILE,
  formatDefaultBundle,
} from "@budgetfusion/shared/predictor/default-bundle";
import { readVerifiedBundle, type VerifiedBundle } from "./bundle-files";

/** The committed bundles folder, relative to the repository root the npm scripts run in. */
const PUBLISHED_BUNDLES_DIR = join("artifacts", "bundles");

export interface PublishResult {
  dir: string;
  version: string;
  /** false: the folder already held this very bundle. */
  copied: boolean;
  defaultSet: boolean;
}

export interface PublishOptions {
  bundlesDir?: string;
  setDefault?: boolean;
  /** The flag a refusal names (default --publish). */
  flag?: string;
}

export async function publishBundle(
  from: string,
  options: PublishOptions = {},
): Promise<PublishResult> {
  return publishVerifiedBundle(await readVerifiedBundle(from, "--publish"), options, from);
}

/**
 * Publishes a bundle held in memory (what a conversion made, bundle/lsnr-conversion.ts);
 * `from`: the folder it was read from, so that a bundle already in place is not copied.
 */
export async function publishVerifiedBundle(
  bundle: VerifiedBundle,
  options: PublishOptions = {},
  from?: string,
): Promise<PublishResult> {
  const bundlesDir = resolve(options.bundlesDir ?? PUBLISHED_BUNDLES_DIR);
  const version = bundle.manifest.version;
  const target = join(bundlesDir, version);
  let copied = false;
  if (from === undefined || resolve(from) !== target) {
    const existing = await readFile(join(target, "manifest.json"), "utf8").catch(() => undefined);
    if (existing === undefined) {
      const tmp = `${target}.tmp-${process.pid}`;
      await rm(tmp, { recursive: true, force: true });
      for (const { ref, bytes } of bundle.files) {
        await mkdir(dirname(join(tmp, ref.file)), { recursive: true });
        await writeFile(join(tmp, ref.file), bytes);
      }
      await writeFile(join(tmp, "manifest.json"), bundle.manifestText);
      await rename(tmp, target);
      copied = true;
    } else if (existing !== bundle.manifestText) {
      const flag = options.flag ?? "--publish";
      throw new ConfigError(
        `${flag}: ${target} already holds another bundle named ${version}; pass --version NAME`,
        { field: flag },
      );
    }
  }
  if (options.setDefault) {
    const file = join(bundlesDir, DEFAULT_BUNDLE_FILE);
    await writeFile(`${file}.tmp`, formatDefaultBundle(version));
    await rename(`${file}.tmp`, file);
  }
  return { dir: target, version, copied, defaultSet: options.setDefault ?? false };
}
