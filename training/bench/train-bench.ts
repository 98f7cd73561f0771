/**
 * Training throughput benchmark (SPEC §4; docs/notes/training-in-typescript.md): sequences/second
 * for one optimiser step (forward + BPTT + Adam) on random data, for the default CPU size and
 * the paper size, on 1 and 2 threads, and the projected hours per epoch at 16,500 sequences
 * (the paper's training set). Goal: paper size < 1 h per epoch on this 2-core machine.
 * Two inputs side by side: unstructured random rows (layer 0's dense path) and rows p̄_b + t̄_t,
 * the form every real predictor input has (the factored path, model/lstm-direction.ts), with the
 * speed-up of the second.
 *
 *   npm run bench:train                       # default + paper, 1 and 2 threads, both inputs
 *   npm run bench:train -- --sizes default --threads 2 --steps 5 --inputs prompt+step
 */
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { splitMix32Random } from "@budgetfusion/shared/random/seeded-random";
import { headCount, type ModelConfig } from "../src/model/config";
import { initParams, paramSpecs } from "../src/model/params";
import { Adam } from "../src/train/adam";
import { createGradEngine } from "../src/train/grad-engine";

const EPOCH_SEQUENCES = 16_500;
const SIZES: Record<string, { hidden: number; mlp: number; steps: number }> = {
  default: { hidden: 64, mlp: 64, steps: 3 },
  paper: { hidden: 512, mlp: 128, steps: 1 },
};

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "default,paper" },
    threads: { type: "string", default: "1,2" },
    steps: { type: "string" },
    width: { type: "string", default: "1024" },
    seq: { type: "string", default: "129" },
    batch: { type: "string", default: "32" },
    inputs: { type: "string", default: "random,prompt+step" },
  },
});

function num(name: string, v: string | undefined): number {
  const x = Number(v);
  if (!Number.isInteger(x) || x < 1) {
    console.error(`--${name}: expected a positive integer, got ${v}`);
    process.exit(2);
  }
  return x;
}

const D = num("width", values.width);
const T = num("seq", values.seq);
const B = num("batch", values.batch);

const INPUTS = ["random", "prompt+step"] as const;
type InputKind = (typeof INPUTS)[number];

/** [B, T, D] inputs: unstructured, or p_b + s_t (what training-data.ts builds). */
function inputs(kind: InputKind): Float32Array {
  const r = splitMix32Random(2);
  if (kind === "random") return Float32Array.from({ length: B * T * D }, () => r.uniform(-1, 1));
  const p = Float32Array.from({ length: B * D }, () => r.uniform(-1, 1));
  const s = Float32Array.from({ length: T * D }, () => r.uniform(-0.1, 0.1));
  const x = new Float32Array(B * T * D);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let j = 0; j < D; j++) x[(b * T + t) * D + j] = p[b * D + j] + s[t * D + j];
  return x;
}

/** Returns sequences per second. */
async function bench(size: string, threads: number, kind: InputKind): Promise<number> {
  const s = SIZES[size];
  if (!s) {
    console.error(`--sizes: unknown size ${size} (default, paper)`);
    process.exit(2);
  }
  const steps = values.steps ? num("steps", values.steps) : s.steps;
  const cfg: ModelConfig = {
    architecture: "bilstm",
    width: D,
    hidden: s.hidden,
    mlp: s.mlp,
    layers: 2,
    dropout: 0.1,
    tailPad: 0,
  };
  const specs = paramSpecs(cfg);
  const heads = headCount(cfg.architecture);
  const engine = createGradEngine({ cfg, specs, T, heads, threads, diffWeight: 0 });
  try {
    initParams(specs, engine.params, 1);
    const r = splitMix32Random(3);
    const x = inputs(kind);
    const y = Float32Array.from({ length: B * T }, () => r.next());
    await engine.setDataset("train", x, y);
    const adam = new Adam(engine.params.length);
    const idx = Int32Array.from({ length: B }, (_, i) => i);
    // One warm-up step (JIT, worker start-up) at the small size only: a paper-size step is long
    // enough that compilation is noise.
    if (size === "default") {
      await engine.step("train", idx, 0);
      adam.update(engine.params, engine.grads);
    }
    const times: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let k = 0; k < steps; k++) {
      const t0 = performance.now();
      await engine.step("train", idx, k + 1);
      adam.update(engine.params, engine.grads);
      times.push((performance.now() - t0) / 1000);
    }
    const cpu = process.cpuUsage(cpu0);
    const cpuPerStep = (cpu.user + cpu.system) / 1e6 / steps;
    times.sort((a, b) => a - b);
    const med = times[Math.floor(times.length / 2)];
    const seqPerSec = B / med;
    const hours = EPOCH_SEQUENCES / seqPerSec / 3600;
    console.log(
      `${size.padEnd(7)} ${kind.padEnd(11)} D=${D} H=${s.hidden} M=${s.mlp} T=${T} batch=${B} threads=${threads}: ` +
        `${med.toFixed(2)} s/step (median of ${steps}), ${seqPerSec.toFixed(2)} seq/s, ` +
        `${hours.toFixed(2)} h/epoch at ${EPOCH_SEQUENCES} seqs; CPU ${cpuPerStep.toFixed(2)} s/step ` +
        `(all threads), load avg ${loadavg()[0].toFixed(1)}`,
    );
    return seqPerSec;
  } finally {
    await engine.close();
  }
}

const kinds = (values.inputs ?? "").split(",").map((k) => k.trim());
for (const k of kinds)
  if (!INPUTS.includes(k as InputKind)) {
    console.error(`--inputs: unknown input ${k} (${INPUTS.join(", ")})`);
    process.exit(2);
  }
for (const size of (values.sizes ?? "").split(",")) {
  for (const t of (values.threads ?? "").split(",")) {
    const rate: Partial<Record<InputKind, number>> = {};
    for (const k of kinds as InputKind[]) rate[k] = await bench(size.trim(), num("threads", t), k);
    if (rate.random && rate["prompt+step"])
      console.log(
        `${size.trim()} threads=${t}: prompt+step / random = ${(rate["prompt+step"] / rate.random).toFixed(2)}x`,
      );
  }
}
