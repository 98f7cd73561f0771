/**
 * `npm run deploy:bundle -- --edge URL --token T --bundle DIR [--no-activate]`: uploads a
 * predictor bundle to the edge admin API, activates it and prints the version. The token may
 * come from ADMIN_TOKEN instead. Flags: `--help`; exit codes: cli.ts.
 */
import { z } from "zod";
import { deployBundle } from "../bundle/deploy-bundle";
import { type Cli, flagError, isEntryPoint, runCli, switchFlag, valueFlag } from "./cli";

const DEPLOY_FLAGS = {
  edge: valueFlag("URL", "the edge, e.g. https://edge.example", z.url()),
  token: valueFlag("TOKEN", "admin bearer token (default: $ADMIN_TOKEN)", z.string().optional()),
  bundle: valueFlag("DIR", "bundle folder (manifest.json + files)", z.string().min(1)),
  "no-activate": switchFlag("upload only, leave the active version alone"),
};

export const DEPLOY_CLI: Cli<typeof DEPLOY_FLAGS> = {
  name: "deploy",
  usage: "npm run deploy:bundle --",
  summary: "Upload a predictor bundle to an edge (verified there), then activate it.",
  flags: DEPLOY_FLAGS,
  epilog: "Details: docs/training.md §6",
  main: async ({ args }) => {
    const token = args.token ?? process.env.ADMIN_TOKEN;
    if (!token) throw flagError("token", "required (or set ADMIN_TOKEN)");
    const res = await deployBundle({
      edge: args.edge,
      token,
      bundleDir: args.bundle,
      noActivate: args["no-activate"],
    });
    console.log(
      res.activated ? `activated ${res.version}` : `uploaded ${res.version} (not activated)`,
    );
  },
};

if (isEntryPoint(import.meta.url)) runCli(DEPLOY_CLI);
