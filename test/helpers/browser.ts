/**
 * The headless Chromium that browser tests drive with playwright-core, found in one order:
 *  1. BF_CHROMIUM: the path of a Chromium executable, or `npm` to force the npm-shipped one;
 *  2. Debian's /usr/bin/chromium, when installed (no unpacking);
 *  3. the Chromium inside the @sparticuz/chromium tarball, so that `npm ci` alone brings a
 *     browser: no root, no apt-get, nothing downloaded outside the npm registry.
 * Tests only; see README.md ("Tests").
 */
import { createReadStream, createWriteStream, existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { createBrotliDecompress } from "node:zlib";
import { type Browser, chromium, type LaunchOptions } from "playwright-core";
import { extract } from "tar-fs";

export const DEBIAN_CHROMIUM = "/usr/bin/chromium";

// As root Chromium needs --no-sandbox; without the background-networking flags it keeps
// dialling Google's hosts, which a closed network refuses.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export interface ChromiumChoice {
  source: "BF_CHROMIUM" | "debian" | "npm";
  executablePath: string;
  /** Environment for the browser process (the npm-shipped one brings its own libraries). */
  env: NodeJS.ProcessEnv;
}

export async function resolveChromium(
  env: NodeJS.ProcessEnv = process.env,
): Promise<ChromiumChoice> {
  const chosen = env.BF_CHROMIUM;
  if (chosen !== undefined && chosen !== "" && chosen !== "npm") {
    if (!existsSync(chosen)) {
      throw new Error(`BF_CHROMIUM=${chosen}: no such file (a Chromium executable, or "npm")`);
    }
    return { source: "BF_CHROMIUM", executablePath: chosen, env };
  }
  if (chosen !== "npm" && existsSync(DEBIAN_CHROMIUM)) {
    return { source: "debian", executablePath: DEBIAN_CHROMIUM, env };
  }
  const dir = await unpackNpmChromium();
  // Its own libraries and fonts, whatever the system has: the binary then needs only glibc.
  const lib = join(dir, "lib");
  const ldPath = env.LD_LIBRARY_PATH ? `${lib}:${env.LD_LIBRARY_PATH}` : lib;
  return {
    source: "npm",
    executablePath: join(dir, "chromium"),
    env: { ...env, LD_LIBRARY_PATH: ldPath, FONTCONFIG_FILE: join(dir, "fonts.conf") },
  };
}

/** playwright-core launch options for a resolved browser: headless, no sandbox, quiet. */
export function launchOptions(choice: ChromiumChoice): LaunchOptions {
  return { executablePath: choice.executablePath, env: choice.env, args: FLAGS };
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch(launchOptions(await resolveChromium()));
}

function readPackageName(dir: string): string | undefined {
  const file = join(dir, "package.json");
  return existsSync(file)
    ? (JSON.parse(readFileSync(file, "utf8")) as { name?: string }).name
    : undefined;
}

/**
 * Unpacks the brotli'd binary, its libraries and fonts once per package version into
 * node_modules/.cache. The package's own `executablePath()` is not used: it unpacks into the
 * shared os.tmpdir() without a version in the name or an atomic step (a killed first run, or
 * another user's copy, would be reused), and unpacks the libraries only on Amazon Linux.
 */
async function unpackNpmChromium(): Promise<string> {
  // The package's exports hide its package.json and bin/: walk up from its entry module.
  const NAME = "@sparticuz/chromium";
  const require = createRequire(import.meta.url);
  let pkg = dirname(require.resolve("@sparticuz/chromium"));
  while (readPackageName(pkg) !== NAME) {
    if (dirname(pkg) === pkg) throw new Error(`${NAME} has no package.json above its entry`);
    pkg = dirname(pkg);
  }
  const bin = join(pkg, "bin");
  const { version } = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")) as {
    version: string;
  };
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
  const dir = join(root, "node_modules/.cache/bf-chromium", version);
  if (existsSync(join(dir, "chromium"))) return dir;

  await mkdir(dirname(dir), { recursive: true });
  const partial = await mkdtemp(`${dir}.partial-`);
  try {
    const unpack = (file: string, into: NodeJS.WritableStream) =>
      pipeline(createReadStream(join(bin, file)), createBrotliDecompress(), into);
    await unpack("chromium.br", createWriteStream(join(partial, "chromium"), { mode: 0o755 }));
    // NSS, NSPR and expat (lib/); SwiftShader's GL next to the binary; fonts (fonts/).
    for (const archive of ["al2023.tar.br", "swiftshader.tar.br", "fonts.tar.br"]) {
      await unpack(archive, extract(partial));
    }
    // Without a fontconfig file and a font Chromium aborts on the first form control; the
    // package's own fonts.conf names Lambda's folders.
    await writeFile(
      join(partial, "fonts.conf"),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n` +
        `  <dir>${join(dir, "fonts")}</dir>\n  <cachedir>${join(dir, "fontconfig")}</cachedir>\n` +
        `</fontconfig>\n`,
    );
    await rename(partial, dir);
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    // A concurrent run that finished first is as good as ours.
    if (existsSync(join(dir, "chromium"))) return dir;
    throw err;
  }
  return dir;
}
