/**
 * `npm start`: the main job. Serves the edge at http://127.0.0.1:8787 (EDGE_PORT overrides) via
 * `wrangler dev` with local D1/R2/Durable Object state in .wrangler/state, applies the D1
 * migrations, seeds and activates the default predictor bundle through the admin API, and runs
 * a local GPU worker (gpu-worker/src/main.ts) that registers with the edge. Secrets for local
 * development are generated once into .dev.vars (gitignored). Ctrl-C stops everything.
 *
 * Settings (environment or flags):
 *   EDGE_PORT (8787), WORKER_PORT (8788)
 *   BF_BUNDLE_DIR / --bundle DIR   predictor bundle directory (manifest.json + files); default:
 *                                  the newest artifacts/bundles/<version>/ with a manifest.json
 *   WORKER_MODEL_DIR / --model DIR diffusers-ONNX model for the worker; default
 *                                  artifacts/models/mini-world (built by `npm run world:build`)
 *   WORKER_CLIP_DIR / --clip DIR   CLIP for the worker's /v1/embed; default
 *                                  artifacts/models/mini-world-clip when present
 *   --no-worker                    serve the edge only
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_MODELS_ROOT, ensureWorldModels } from "@budgetfusion/world/build";
import { MODEL_DIRS } from "@budgetfusion/world/model-files";
import {
  type Child,
  devSecrets,
  REPO,
  seedBundle,
  startEdge,
  startWorker,
  stop,
} from "./local-stack";

function newestBundle(): string | undefined {
  const root = join(REPO, "artifacts/bundles");
  if (!existsSync(root)) return undefined;
  const dirs = readdirSync(root)
    .map((d) => join(root, d))
    .filter((d) => existsSync(join(d, "manifest.json")))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return dirs[0];
}

async function main() {
  const { values } = parseArgs({
    options: {
      bundle: { type: "string" },
      model: { type: "string" },
      clip: { type: "string" },
      "no-worker": { type: "boolean", default: false },
    },
  });
  const edgePort = Number(process.env.EDGE_PORT ?? 8787);
  const workerPort = Number(process.env.WORKER_PORT ?? 8788);
  const bundleDir = values.bundle ?? process.env.BF_BUNDLE_DIR ?? newestBundle();
  const defaultWorld = join(DEFAULT_MODELS_ROOT, MODEL_DIRS.diffusion);
  const modelDir = resolve(values.model ?? process.env.WORKER_MODEL_DIR ?? defaultWorld);
  // The mini world's graphs are many tiny operators: one ORT thread is 1.5-4x faster per call.
  if (modelDir === defaultWorld) process.env.WORKER_INTRA_OP_THREADS ??= "1";
  // Set-up: build the mini world's models when missing or stale (deterministic, a few seconds).
  if (ensureWorldModels())
    console.error("[start] built artifacts/models/mini-world* (world:build)");
  const defaultClip = join(DEFAULT_MODELS_ROOT, MODEL_DIRS.clip);
  const clipDir =
    values.clip ??
    process.env.WORKER_CLIP_DIR ??
    (existsSync(defaultClip) ? defaultClip : undefined);
  const secrets = devSecrets();
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  const children: Child[] = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await Promise.all(children.reverse().map((c) => stop(c)));
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));

  try {
    console.error(`[start] edge: wrangler dev on ${edgeUrl} (state in .wrangler/state)`);
    children.push(
      await startEdge({ port: edgePort, persistTo: join(REPO, ".wrangler/state"), echo: true }),
    );
    if (bundleDir === undefined) {
      console.error(
        "[start] no predictor bundle: build one (npm run pipeline:smoke writes artifacts/bundles/<version>/)\n" +
          "        or point BF_BUNDLE_DIR / --bundle at a bundle directory. /v1/budget answers 503 until then.",
      );
    } else {
      const version = await seedBundle(edgeUrl, secrets.ADMIN_TOKEN, resolve(bundleDir));
      console.error(`[start] predictor bundle ${version} active (from ${bundleDir})`);
    }
    if (!values["no-worker"]) {
      if (!existsSync(join(modelDir, "model_index.json"))) {
        throw new Error(
          `no model at ${modelDir}: run \`npm run world:build\` or set WORKER_MODEL_DIR / --model`,
        );
      }
      console.error(`[start] GPU worker on :${workerPort} with ${modelDir}`);
      children.push(
        await startWorker(
          {
            port: workerPort,
            edgeUrl,
            workerToken: secrets.WORKER_TOKEN,
            modelDir,
            clipDir,
            workerId: "local-worker",
            echo: true,
          },
          secrets.ADMIN_TOKEN,
        ),
      );
    }
    console.error(`[start] ready: open ${edgeUrl}/  (admin token in .dev.vars; Ctrl-C stops)`);
  } catch (err) {
    console.error(`[start] ${err instanceof Error ? err.message : String(err)}`);
    await shutdown(1);
  }
}

void main();
