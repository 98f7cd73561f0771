/**
 * `npm run deploy:bundle -- --edge URL --token T --bundle DIR [--no-activate]`: uploads a
 * predictor bundle to the edge admin API, activates it and prints the version.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { deployBundle } from "../bundle/deploy-bundle";
import { parseCli } from "./cli-args";

const argsSchema = z.object({
  edge: z.url(),
  token: z.string().min(1),
  bundle: z.string().min(1),
  "no-activate": z.boolean().default(false),
});

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      edge: { type: "string" },
      token: { type: "string", default: process.env.ADMIN_TOKEN },
      bundle: { type: "string" },
      "no-activate": { type: "boolean" },
    },
  });
  const args = parseCli(argsSchema, values);
  const res = await deployBundle({
    edge: args.edge,
    token: args.token,
    bundleDir: args.bundle,
    noActivate: args["no-activate"],
  });
  console.log(
    res.activated ? `activated ${res.version}` : `uploaded ${res.version} (not activated)`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
