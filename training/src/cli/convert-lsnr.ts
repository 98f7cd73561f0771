/**
 * `npm run bundle:convert-lsnr -- --bundle DIR [--out DIR] [--version NAME] [--set-default]`:
 * turns a bundle whose L-SNR head outputs the first SPEC's N/(S+N) into one that outputs the
 * revised S/(S+N), exactly (bundle/lsnr-conversion.ts), verified, as `<out>/<version>/`; with
 * --set-default also names it in `<out>/DEFAULT` (what `npm start` serves). Flags: `--help`;
 * exit codes: cli.ts.
 */
import { dirname } from "node:path";
import { bundleVersionSchema } from "@budgetfusion/shared/predictor/bundle-manifest";
import { z } from "zod";
import { readVerifiedBundle } from "../bundle/bundle-files";
import { convertLsnrBundle } from "../bundle/lsnr-conversion";
import { publishVerifiedBundle } from "../bundle/publish-bundle";
import { type Cli, flagError, isEntryPoint, runCli, switchFlag, valueFlag } from "./cli";

const CONVERT_FLAGS = {
  bundle: valueFlag("DIR", "the bundle to convert (manifest.json + files)", z.string().min(1)),
  out: valueFlag(
    "DIR",
    "bundles folder to write <version>/ into (default: the one holding --bundle)",
    z.string().min(1).optional(),
  ),
  version: valueFlag(
    "NAME",
    "version of the converted bundle (default: <version>-signal-share)",
    bundleVersionSchema.optional(),
  ),
  "set-default": switchFlag("also name it in <out>/DEFAULT, the bundle npm start serves"),
};

export const CONVERT_LSNR_CLI: Cli<typeof CONVERT_FLAGS> = {
  name: "convert-lsnr",
  usage: "npm run bundle:convert-lsnr --",
  summary:
    "Convert a bundle's L-SNR head from N/(S+N) (first SPEC) to S/(S+N) (SPEC §3 revised): y -> 1 - y in its ONNX graph.",
  flags: CONVERT_FLAGS,
  epilog: "Details: docs/training.md §6",
  main: async ({ args }) => {
    const source = await readVerifiedBundle(args.bundle);
    const version = args.version ?? `${source.manifest.version}-signal-share`;
    if (!bundleVersionSchema.safeParse(version).success)
      throw flagError("version", `"${version}" is not a bundle version (1-64 of [A-Za-z0-9._-])`);
    const converted = convertLsnrBundle(source, version);
    const res = await publishVerifiedBundle(converted, {
      bundlesDir: args.out ?? dirname(args.bundle),
      setDefault: args["set-default"],
      flag: "--version",
    });
    console.log(
      `${res.copied ? "wrote" : "already there:"} ${res.dir} (L-SNR S/(S+N), converted from ${source.manifest.version})` +
        (res.defaultSet ? `; DEFAULT names ${res.version}` : ""),
    );
  },
};

if (isEntryPoint(import.meta.url)) runCli(CONVERT_LSNR_CLI);
