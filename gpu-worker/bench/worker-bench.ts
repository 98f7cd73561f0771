/**
 * `npm run bench:worker [-- --images N --steps S --size PX --model DIR --providers cpu
 *   --only all|batching --requests N --load X --max-batch B --rounds R]`
 *
 * GPU worker benchmark on tiny-sd2 (default ../shared/fixtures/tiny-sd2; dev tooling may read
 * fixtures):
 * 1. per-image time split into ONNX Runtime time (session.run) and everything else; overhead
 *    ratio = non-ONNX / total (goal <= 5%), with p50/p95;
 * 2. images/second at concurrency 1 and 2 (in-process, shared sessions);
 * 3. a load test from a second process: the worker server is spawned as a child on port 18788
 *    with concurrency 1 and a queue of 2; the bench fires bounded concurrent requests and counts
 *    200s, queue-full 429s and 5xx (expected: zero 5xx); a client pauses 250 ms after a 429;
 * 4. serving policies (batching-bench.ts): sequential, static and continuous batching under one
 *    Poisson arrival trace with the bundle's t* budgets, on the mini world and on tiny-sd2:
 *    images/s, p50/p99 latency, mean batch, and the ratios side by side. The last line is JSON
 *    with the mini world's throughput_ratio (continuous / sequential images/s) and p99_ratio.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadModelDir } from "@budgetfusion/inference/pipeline/model-dir";
import { SdPipeline } from "@budgetfusion/inference/pipeline/sd-pipeline";
import { NodeOrtPort } from "@budgetfusion/inference/runtime/ort-node";
import {
  heldOutBudgets,
  POLICIES,
  type PolicyResult,
  percentile,
  poissonArrivals,
  runPolicy,
  sequentialServiceMs,
  unetCallMs,
  type WorkloadSettings,
} from "./batching-bench";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "..", "..");
const LOAD_PORT = 18788;
const BACKOFF_MS = 250;

const { values } = parseArgs({
  options: {
    model: { type: "string", default: resolve(REPO, "..", "shared", "fixtures", "tiny-sd2") },
    images: { type: "string", default: "40" },
    steps: { type: "string", default: "22" },
    size: { type: "string", default: "64" },
    providers: { type: "string", default: "cpu" },
    "load-requests": { type: "string", default: "48" },
    "load-concurrency": { type: "string", default: "8" },
    only: { type: "string", default: "all" },
    // The default world (v2) and the t* of its committed bundle's held-out prompts.
    "mini-world": {
      type: "string",
      default: resolve(REPO, "artifacts", "models", "mini-world-v2"),
    },
    evaluation: {
      type: "string",
      default: resolve(REPO, "reports", "mini-world-v2", "evaluation.json"),
    },
    requests: { type: "string", default: "48" },
    load: { type: "string", default: "6" },
    "max-batch": { type: "string", default: "8" },
    rounds: { type: "string", default: "3" },
  },
});
const IMAGES = Number(values.images);
const STEPS = Number(values.steps);
const SIZE = Number(values.size);
const PROVIDERS = (values.providers ?? "cpu").split(",");
const ROUNDS = Number(values.rounds);

const fmt = (x: number, d = 2) => x.toFixed(d);

async function perImage(pipeline: SdPipeline) {
  const opts = (i: number) => ({
    prompts: ["a red bicycle leaning on a white wall"],
    steps: STEPS,
    guidanceScale: 7.5,
    height: SIZE,
    width: SIZE,
    seed: i,
  });
  for (let i = 0; i < 3; i++) await pipeline.generate(opts(i)); // warm-up
  const total: number[] = [];
  const ort: number[] = [];
  const ratio: number[] = [];
  for (let i = 0; i < IMAGES; i++) {
    const r = await pipeline.generate(opts(i));
    total.push(r.timings.totalMs);
    ort.push(r.timings.ortMs);
    ratio.push((r.timings.totalMs - r.timings.ortMs) / r.timings.totalMs);
  }
  const sumT = total.reduce((a, b) => a + b, 0);
  const sumO = ort.reduce((a, b) => a + b, 0);
  console.log(
    `\n[1] per image (${IMAGES} images, ${STEPS} steps, ${SIZE}x${SIZE}, CFG 7.5, ${PROVIDERS})`,
  );
  console.log(
    `  total ms      p50 ${fmt(percentile(total, 50))}  p95 ${fmt(percentile(total, 95))}  mean ${fmt(sumT / IMAGES)}`,
  );
  console.log(
    `  onnx ms       p50 ${fmt(percentile(ort, 50))}  p95 ${fmt(percentile(ort, 95))}  mean ${fmt(sumO / IMAGES)}`,
  );
  const other = total.map((t, i) => t - ort[i]);
  console.log(
    `  non-onnx ms   p50 ${fmt(percentile(other, 50))}  p95 ${fmt(percentile(other, 95))}  mean ${fmt((sumT - sumO) / IMAGES)}`,
  );
  console.log(
    `  overhead ratio (non-onnx / total): aggregate ${fmt(100 * (1 - sumO / sumT))}%  per-image p50 ${fmt(100 * percentile(ratio, 50))}%  p95 ${fmt(100 * percentile(ratio, 95))}%  (goal <= 5%)`,
  );
}

async function throughput(pipeline: SdPipeline) {
  console.log(`\n[2] throughput (${IMAGES} images each)`);
  for (const concurrency of [1, 2]) {
    let next = 0;
    const start = performance.now();
    const loop = async () => {
      while (next < IMAGES) {
        const i = next++;
        await pipeline.generate({
          prompts: ["a colorful park with a crowd"],
          steps: STEPS,
          guidanceScale: 7.5,
          height: SIZE,
          width: SIZE,
          seed: i,
        });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
    const s = (performance.now() - start) / 1000;
    console.log(`  concurrency ${concurrency}: ${fmt(IMAGES / s)} images/s (${fmt(s)} s)`);
  }
}

async function waitReady(child: ChildProcess): Promise<void> {
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${LOAD_PORT}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("server did not become ready in 60 s");
}

async function loadTest() {
  const requests = Number(values["load-requests"]);
  const concurrency = Number(values["load-concurrency"]);
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(REPO, "gpu-worker", "src", "main.ts")],
    {
      cwd: REPO,
      env: {
        ...process.env,
        WORKER_PORT: String(LOAD_PORT),
        WORKER_MODEL_DIR: values.model,
        WORKER_CONCURRENCY: "1",
        WORKER_QUEUE_LIMIT: "2",
        WORKER_REQUEST_TIMEOUT_MS: "60000",
        WORKER_EXECUTION_PROVIDERS: PROVIDERS.join(","),
        EDGE_URL: "",
        WORKER_TOKEN: "",
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let serverLog = "";
  child.stderr?.on("data", (d) => {
    serverLog += String(d);
  });
  try {
    await waitReady(child);
    const counts = new Map<number, number>();
    const latencies: number[] = [];
    const retryAfter: number[] = [];
    let sent = 0;
    const start = performance.now();
    const loop = async () => {
      while (sent < requests) {
        const i = sent++;
        const t0 = performance.now();
        const res = await fetch(`http://127.0.0.1:${LOAD_PORT}/v1/generate`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            prompt: `load test ${i}`,
            steps: STEPS,
            width: SIZE,
            height: SIZE,
            seed: i,
          }),
        });
        await res.arrayBuffer();
        counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
        if (res.status === 200) latencies.push(performance.now() - t0);
        if (res.status === 429) {
          retryAfter.push(Number(res.headers.get("retry-after")));
          // A polite client backs off briefly (a fraction of Retry-After keeps the test short).
          await new Promise((r) => setTimeout(r, BACKOFF_MS));
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
    const s = (performance.now() - start) / 1000;
    const fiveXX = [...counts].filter(([k]) => k >= 500).reduce((a, [, v]) => a + v, 0);
    console.log(
      `\n[3] load test: ${requests} requests, ${concurrency} concurrent clients (${BACKOFF_MS} ms pause after a 429), server concurrency 1, queue 2 (port ${LOAD_PORT}, separate process)`,
    );
    console.log(`  status counts: ${JSON.stringify(Object.fromEntries([...counts].sort()))}`);
    console.log(
      `  200: ${counts.get(200) ?? 0}  429 (queue full): ${counts.get(429) ?? 0}  5xx: ${fiveXX}`,
    );
    if (retryAfter.length > 0) {
      console.log(
        `  Retry-After on 429: min ${Math.min(...retryAfter)} s, max ${Math.max(...retryAfter)} s`,
      );
    }
    if (latencies.length > 0) {
      console.log(
        `  200 latency ms p50 ${fmt(percentile(latencies, 50))}  p95 ${fmt(percentile(latencies, 95))}; served ${fmt((counts.get(200) ?? 0) / s)} images/s`,
      );
    }
    const metrics = await (await fetch(`http://127.0.0.1:${LOAD_PORT}/metrics`)).text();
    const reqLines = metrics
      .split("\n")
      .filter((l) => l.startsWith('bf_worker_requests_total{route="/v1/generate"'));
    console.log(`  server metrics: ${reqLines.join("; ")}`);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    if (!serverLog.includes("drained, exiting")) console.log(`  server log:\n${serverLog}`);
    else console.log("  server drained and exited on SIGTERM");
  }
}

async function servingPolicies(name: string, dir: string, w: WorkloadSettings) {
  const pipeline = await SdPipeline.load(
    new NodeOrtPort(PROVIDERS, { intraOpNumThreads: 1 }),
    await loadModelDir(dir),
  );
  try {
    const budgets = heldOutBudgets(values.evaluation);
    const meanSteps = Math.round(budgets.reduce((a, b) => a + b, 0) / budgets.length);
    const serviceMs = await sequentialServiceMs(pipeline, w, meanSteps);
    const rate = (w.load * 1000) / serviceMs;
    const arrivals = poissonArrivals(w.requests, rate, budgets, w.seed);
    console.log(
      `\n[4] serving policies on ${name} (${w.size}x${w.size}, CFG ${w.guidanceScale}): ${w.requests} Poisson arrivals at ${fmt(rate)}/s = ${w.load} x sequential capacity (${fmt(serviceMs, 1)} ms per request at the mean t* ${meanSteps}); steps from the bundle's t* over ${budgets.length} held-out prompts (p50 ${percentile(budgets, 50)}, max ${Math.max(...budgets)}); max batch ${w.maxBatch} requests`,
    );
    const rowCounts = [1, 2, 4, 8, 16];
    const callMs = await unetCallMs(pipeline, w, rowCounts);
    const one = callMs.get(1) as number;
    console.log(
      `  UNet call ms by rows: ${rowCounts.map((r) => `${r}: ${fmt(callMs.get(r) as number)}`).join("  ")}; batching ceiling (rows x ms(1) / ms(rows)): ${rowCounts.map((r) => `${r}: ${fmt((r * one) / (callMs.get(r) as number))}x`).join("  ")}`,
    );
    // Rounds interleave the policies, so a change in the shared machine's load hits all three;
    // each policy's figures are its medians over the rounds.
    const rounds: PolicyResult[][] = POLICIES.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, policy] of POLICIES.entries()) {
        rounds[i].push(await runPolicy(pipeline, policy, arrivals, w));
      }
    }
    const median = (xs: number[]) => percentile(xs, 50);
    const results: PolicyResult[] = rounds.map((rs) => ({
      policy: rs[0].policy,
      imagesPerS: median(rs.map((r) => r.imagesPerS)),
      p50Ms: median(rs.map((r) => r.p50Ms)),
      p99Ms: median(rs.map((r) => r.p99Ms)),
      meanBatch: median(rs.map((r) => r.meanBatch)),
      wallS: median(rs.map((r) => r.wallS)),
    }));
    const seq = results[0];
    console.log(
      `  medians over ${ROUNDS} interleaved rounds; continuous / sequential images/s per round: ${rounds[2].map((r, k) => fmt(r.imagesPerS / rounds[0][k].imagesPerS)).join(", ")}`,
    );
    console.log(
      "  policy        images/s   p50 ms    p99 ms    mean batch   images/s ratio   p99 ratio (vs sequential)",
    );
    for (const r of results) {
      console.log(
        `  ${r.policy.padEnd(12)}  ${fmt(r.imagesPerS).padStart(8)}  ${fmt(r.p50Ms, 0).padStart(7)}  ${fmt(r.p99Ms, 0).padStart(8)}  ${fmt(r.meanBatch).padStart(10)}  ${fmt(r.imagesPerS / seq.imagesPerS).padStart(15)}  ${fmt(r.p99Ms / seq.p99Ms).padStart(10)}`,
      );
    }
    const cont = results[2];
    const stat = results[1];
    const eta = rounds[2].map((r) => r.etaError).filter((e) => e !== undefined);
    const etaP50 = percentile(
      eta.map((e) => e.p50),
      50,
    );
    const etaP90 = percentile(
      eta.map((e) => e.p90),
      50,
    );
    console.log(
      `  continuous ETA at half-way vs the time it really took: |error| p50 ${fmt(100 * etaP50, 0)}%, p90 ${fmt(100 * etaP90, 0)}% of the remaining time`,
    );
    console.log(
      `  continuous vs static: ${fmt(cont.imagesPerS / stat.imagesPerS)}x images/s, p99 ${fmt(cont.p99Ms / stat.p99Ms)}x`,
    );
    return {
      throughput_ratio: cont.imagesPerS / seq.imagesPerS,
      p99_ratio: cont.p99Ms / seq.p99Ms,
      vs_static_throughput_ratio: cont.imagesPerS / stat.imagesPerS,
      vs_static_p99_ratio: cont.p99Ms / stat.p99Ms,
      unet_call_ms_by_rows: Object.fromEntries(callMs),
      eta_error_p50: etaP50,
      eta_error_p90: etaP90,
      images_per_s: Object.fromEntries(results.map((r) => [r.policy, r.imagesPerS])),
      p99_ms: Object.fromEntries(results.map((r) => [r.policy, r.p99Ms])),
    };
  } finally {
    await pipeline.dispose();
  }
}

async function main() {
  if (values.only !== "batching") {
    const port = new NodeOrtPort(PROVIDERS);
    const model = await loadModelDir(values.model);
    const pipeline = await SdPipeline.load(port, model);
    console.log(`worker bench: ${model.id} on ${port.name}, providers ${PROVIDERS.join(",")}`);
    try {
      await perImage(pipeline);
      await throughput(pipeline);
    } finally {
      await pipeline.dispose();
    }
    await loadTest();
  }
  const workload = {
    requests: Number(values.requests),
    load: Number(values.load),
    maxBatch: Number(values["max-batch"]),
    seed: 13,
  };
  if (!existsSync(join(values["mini-world"], "model_index.json"))) {
    throw new Error(`${values["mini-world"]}: no mini world model; run npm run world:build first`);
  }
  const mini = await servingPolicies("the mini world", values["mini-world"], {
    ...workload,
    size: 128,
    guidanceScale: 1,
  });
  const tiny = await servingPolicies("tiny-sd2", values.model, {
    ...workload,
    requests: Math.ceil(workload.requests / 2),
    size: SIZE,
    guidanceScale: 7.5,
  });
  console.log(
    JSON.stringify({
      throughput_ratio: mini.throughput_ratio,
      p99_ratio: mini.p99_ratio,
      mini_world: mini,
      tiny_sd2: tiny,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(`bench:worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
