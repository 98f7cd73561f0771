/**
 * `npm start`: the main job. Serves the edge at http://127.0.0.1:8787 (EDGE_PORT overrides) via
 * `wrangler dev` with local D1/R2/Durable Object state in .wrangler/state, applies the D1
 * migrations, makes sure a predictor bundle is active (bundle-choice.ts: the default is seeded
 * only while none is active, so a restart keeps the operator's choice), and runs a local GPU
 * worker (gpu-worker/src/main.ts) that registers with the edge. Secrets for local development
 * are generated once into .dev.vars (gitignored). Ctrl-C stops everything.
 *
 * Settings (environment or flags):
 *   EDGE_PORT (8787), WORKER_PORT (8788)
 *   BF_BUNDLE_DIR / --bundle DIR   predictor bundle directory (manifest.json + files), uploaded
 *                                  and activated on every start; default: the version named in
 *                                  artifacts/bundles/DEFAULT, activated only if none is active
 *   BF_STATE_DIR / --state DIR     the edge's local D1/R2/Durable Object state (.wrangler/state)
 *   WORKER_MODEL_DIR / --model DIR diffusers-ONNX model for the worker; default the default
 *                                  world's, artifacts/models/mini-world-v2 (built on start)
 *   WORKER_CLIP_DIR / --clip DIR   CLIP for the worker's /v1/embed; default
 *                                  artifacts/models/mini-world-v2-clip
 *   BF_REQUIRE_KEYS=1              require consumer API keys on /v1 as a deployment does
 *                                  (wrangler.toml); without it npm start runs in local mode,
 *                                  where calls without a key are served as the anonymous
 *                                  consumer. Keys are created with the admin token of .dev.vars
 *                                  (POST /admin/keys, or the operator view at /ops).
 *   --no-worker                    serve the edge only
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_MODELS_ROOT, ensureWorldModels } from "@budgetfusion/world/build";
import { DEFAULT_WORLD, WORLDS } from "@budgetfusion/world/worlds";
import { chooseBundle, serveBundle } from "./bundle-choice";
import { type Child, devSecrets, REPO, startEdge, startWorker, stop } from "./local-stack";

async function main() {
  const { values } = parseArgs({
    options: {
      bundle: { type: "string" },
      model: { type: "string" },
      clip: { type: "string" },
      state: { type: "string" },
      "no-worker": { type: "boolean", default: false },
    },
  });
  const edgePort = Number(process.env.EDGE_PORT ?? 8787);
  const workerPort = Number(process.env.WORKER_PORT ?? 8788);
  const stateDir = resolve(
    values.state ?? process.env.BF_STATE_DIR ?? join(REPO, ".wrangler/state"),
  );
  const dirs = WORLDS[DEFAULT_WORLD].dirs;
  const defaultWorld = join(DEFAULT_MODELS_ROOT, dirs.diffusion);
  const modelDir = resolve(values.model ?? process.env.WORKER_MODEL_DIR ?? defaultWorld);
  // The mini world's graphs are many tiny operators: one ORT thread is 1.5-4x faster per call.
  if (modelDir === defaultWorld) process.env.WORKER_INTRA_OP_THREADS ??= "1";
  // Set-up: build the mini world's models when missing or stale (deterministic, a few seconds).
  if (ensureWorldModels())
    console.error(`[start] built artifacts/models/${dirs.diffusion}* (world:build)`);
  const defaultClip = join(DEFAULT_MODELS_ROOT, dirs.clip);
  const clipDir =
    values.clip ??
    process.env.WORKER_CLIP_DIR ??
    (existsSync(defaultClip) ? defaultClip : undefined);
  const secrets = devSecrets();
  const apiKeys = process.env.BF_REQUIRE_KEYS === "1" ? "required" : "optional";
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
    const bundle = chooseBundle({ flag: values.bundle, env: process.env.BF_BUNDLE_DIR });
    console.error(`[start] edge: wrangler dev on ${edgeUrl} (state in ${stateDir})`);
    children.push(
      await startEdge({
        port: edgePort,
        persistTo: stateDir,
        echo: true,
        vars: { API_KEYS: apiKeys },
      }),
    );
    console.error(
      apiKeys === "required"
        ? "[start] API keys required (BF_REQUIRE_KEYS=1): create one with POST /admin/keys"
        : "[start] local mode: /v1 answers without an API key (BF_REQUIRE_KEYS=1 requires keys)",
    );
    if (bundle === undefined) {
      console.error(
        "[start] no predictor bundle: artifacts/bundles/DEFAULT is missing; point BF_BUNDLE_DIR /\n" +
          "        --bundle at a bundle directory. /v1/budget answers 503 until one is active.",
      );
    } else {
      const served = await serveBundle(edgeUrl, secrets.ADMIN_TOKEN, bundle);
      console.error(
        served.kept
          ? `[start] predictor bundle ${served.version} active (kept from the existing state; --bundle DIR replaces it)`
          : `[start] predictor bundle ${served.version} active (from ${bundle.dir}, ${bundle.source})`,
      );
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
