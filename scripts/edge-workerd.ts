/**
 * The edge in workerd alone: the Worker that `wrangler deploy --dry-run --outdir <script-dir>`
 * built, run by Miniflare with wrangler.toml's bindings and the same local state layout as
 * `wrangler dev --persist-to`. `wrangler dev` puts a proxy Worker in a second workerd process
 * (and its Node) in front of every request; a deployed Worker has no such hop, so the edge
 * benchmark measures here (docs/notes/paper-size-edge.md: the /healthz floor is 1.6 ms here
 * against 3.3 ms under wrangler dev on the same machine).
 *
 *   tsx scripts/edge-workerd.ts --script-dir DIR --port P --persist-to STATE
 *     [--inspector-port I] [--var KEY:VALUE ...]
 *
 * Prints "Ready on <url>" and serves until SIGTERM.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Miniflare, type MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { REPO } from "./local-stack";

function fail(message: string): never {
  process.stderr.write(`edge-workerd: ${message}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    "script-dir": { type: "string" },
    port: { type: "string" },
    "persist-to": { type: "string" },
    "inspector-port": { type: "string" },
    var: { type: "string", multiple: true, default: [] },
  },
});
const scriptDir = values["script-dir"] ?? fail("--script-dir is required");
const persistTo = values["persist-to"] ?? fail("--persist-to is required");
const port = Number(values.port ?? fail("--port is required"));
if (!Number.isInteger(port) || port <= 0) fail(`--port must be a port number, got ${values.port}`);
const vars = Object.fromEntries(
  values.var.map((kv) => {
    const at = kv.indexOf(":");
    if (at <= 0) fail(`--var must be KEY:VALUE, got ${kv}`);
    return [kv.slice(0, at), kv.slice(at + 1)];
  }),
);

// wrangler.toml (and .dev.vars) as wrangler dev reads them.
const { workerOptions } = unstable_getMiniflareWorkerOptions(join(REPO, "wrangler.toml"));
// The build's dynamic import of ORT's glue defeats Miniflare's module discovery: list them.
const wasm = readdirSync(scriptDir).filter((f) => f.endsWith(".wasm"));
// wrangler dev --persist-to keeps its simulators' state under v3/.
const state = join(persistTo, "v3");
const options = {
  host: "127.0.0.1",
  port,
  inspectorPort:
    values["inspector-port"] === undefined ? undefined : Number(values["inspector-port"]),
  cf: false,
  d1Persist: join(state, "d1"),
  r2Persist: join(state, "r2"),
  cachePersist: join(state, "cache"),
  durableObjectsPersist: join(state, "do"),
  workers: [
    {
      ...workerOptions,
      name: "budgetfusion-edge",
      bindings: { ...workerOptions.bindings, ...vars },
      modulesRoot: scriptDir,
      modules: [
        { type: "ESModule", path: join(scriptDir, "index.js") },
        ...wasm.map((f) => ({ type: "CompiledWasm" as const, path: join(scriptDir, f) })),
      ],
    },
  ],
} as MiniflareOptions;

const mf = new Miniflare(options);
const url = await mf.ready;
process.stdout.write(`Ready on ${url}\n`);
for (const signal of ["SIGTERM", "SIGINT"] as const)
  process.once(signal, () => {
    void mf.dispose().finally(() => process.exit(0));
  });
