/**
 * `npm run bench:edge`: the edge under `wrangler dev` (workerd) on port 18787 with a fresh local
 * state, measured from a local client:
 *   - cold start: wrangler dev spawn -> first /healthz, and the first /v1/budget (isolate start,
 *     ORT wasm instantiation, bundle load from R2);
 *   - warm /v1/budget latency p50/p95/p99 over 1,000 sequential requests, every prompt distinct
 *     (the edge tokenizes, embeds and predicts each one), plus /healthz for the HTTP floor;
 *   - Worker bundle size (wrangler deploy --dry-run --outdir, each file gzipped);
 *   - workerd RSS before the first budget request and every 250 warm requests.
 * Bundle: BF_BUNDLE_DIR, else the one artifacts/bundles/DEFAULT names, else the fx-edge16 fixture
 * (tiny-clip + exported predictors; dev tooling may read ../shared/fixtures).
 * Goal (issue 3): warm p50 <= 5 ms, p99 <= 20 ms. Results: stdout and reports/edge-bench.json.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chooseBundle } from "@budgetfusion/scripts/bundle-choice";
import {
  type Child,
  devSecrets,
  REPO,
  seedBundle,
  startEdge,
  stop,
  wranglerEnv,
} from "@budgetfusion/scripts/local-stack";

const PORT = Number(process.env.EDGE_BENCH_PORT ?? 18787);
const EDGE = `http://127.0.0.1:${PORT}`;
const N = Number(process.env.EDGE_BENCH_N ?? 1000);
const prompt = (i: number) => `a photo of object number ${i} on a wooden table`;

function percentile(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    n: s.length,
    p50: round(percentile(s, 50)),
    p95: round(percentile(s, 95)),
    p99: round(percentile(s, 99)),
    max: round(s[s.length - 1]),
    mean: round(s.reduce((a, b) => a + b, 0) / s.length),
  };
}

async function budget(prompt: string) {
  const t0 = performance.now();
  const res = await fetch(`${EDGE}/v1/budget`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt }),
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`/v1/budget answered ${res.status}`);
  return performance.now() - t0;
}

/** RSS (MiB) of the workerd processes in the wrangler dev process group. */
function workerdRssMiB(edge: Child): number {
  const out = execFileSync("ps", ["-o", "pid=,comm=,rss=", "-g", String(edge.proc.pid)], {
    encoding: "utf8",
  });
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === "workerd")
    .reduce((sum, f) => sum + Number(f[2]) / 1024, 0);
}

function bundleSize(outdir: string) {
  execFileSync(
    join(REPO, "node_modules/.bin/wrangler"),
    ["deploy", "--dry-run", "--outdir", outdir],
    { cwd: REPO, env: wranglerEnv(), stdio: "pipe" },
  );
  let raw = 0;
  let gz = 0;
  const files: Record<string, { raw: number; gzip: number }> = {};
  for (const f of readdirSync(outdir)) {
    const p = join(outdir, f);
    if (!statSync(p).isFile() || f.endsWith(".map") || f === "README.md") continue;
    const bytes = readFileSync(p);
    const g = gzipSync(bytes, { level: 9 }).byteLength;
    files[f] = { raw: bytes.byteLength, gzip: g };
    raw += bytes.byteLength;
    gz += g;
  }
  const mib = (b: number) => Math.round((b / 2 ** 20) * 100) / 100;
  return { raw_mib: mib(raw), gzip_mib: mib(gz), files };
}

async function bundleDir(tmp: string): Promise<string> {
  const chosen = chooseBundle({ env: process.env.BF_BUNDLE_DIR });
  if (chosen) return chosen.dir;
  const { buildFixtureBundles } = await import("../workerd/build-fixture-bundle");
  await buildFixtureBundles(join(tmp, "bundles"));
  return join(tmp, "bundles", "fx-edge16");
}

async function main() {
  const tmp = await mkdtemp(join(tmpdir(), "bf-edge-bench-"));
  let edge: Child | undefined;
  try {
    const dir = await bundleDir(tmp);
    const secrets = devSecrets();
    const size = bundleSize(join(tmp, "dry-run"));
    // Local mode: the bench measures budgets, not the key lookup (cached per isolate anyway).
    const vars = { API_KEYS: "optional" };
    const t0 = performance.now();
    edge = await startEdge({ port: PORT, persistTo: join(tmp, "state"), vars });
    const serverStartMs = performance.now() - t0;
    const version = await seedBundle(EDGE, secrets.ADMIN_TOKEN, dir);
    // Restart so the first budget request meets a cold isolate (seeding warmed this one).
    await stop(edge);
    const t1 = performance.now();
    edge = await startEdge({ port: PORT, persistTo: join(tmp, "state"), vars });
    const restartMs = performance.now() - t1;
    const rssBefore = workerdRssMiB(edge);
    const firstBudgetMs = await budget(prompt(-1));
    for (let i = 0; i < 50; i++) await budget(prompt(-2 - i));
    const warm: number[] = [];
    const rssSamples: number[] = [];
    for (let i = 0; i < N; i++) {
      warm.push(await budget(prompt(i)));
      if ((i + 1) % 250 === 0) rssSamples.push(Math.round(workerdRssMiB(edge)));
    }
    const health: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await (await fetch(`${EDGE}/healthz`)).arrayBuffer();
      health.push(performance.now() - t);
    }
    const rssAfter = workerdRssMiB(edge);
    const report = {
      measured_at: new Date().toISOString(),
      bundle: version,
      cold: {
        wrangler_dev_to_healthz_ms: Math.round(serverStartMs),
        restart_to_healthz_ms: Math.round(restartMs),
        first_budget_request_ms: Math.round(firstBudgetMs * 10) / 10,
      },
      warm_budget_ms: stats(warm),
      warm_healthz_ms: stats(health),
      goal: { p50_ms: 5, p99_ms: 20, met: stats(warm).p50 <= 5 && stats(warm).p99 <= 20 },
      worker_bundle: size,
      workerd_rss_mib: {
        before_first_budget: Math.round(rssBefore),
        every_250_warm_requests: rssSamples,
        after_warm_run: Math.round(rssAfter),
      },
      load_average_1m: Math.round(loadavg()[0] * 10) / 10,
    };
    console.log(JSON.stringify(report, null, 2));
    mkdirSync(join(REPO, "reports"), { recursive: true });
    writeFileSync(join(REPO, "reports/edge-bench.json"), `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    if (edge !== undefined) await stop(edge);
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
