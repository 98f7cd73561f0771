/**
 * Dev tool: `npx tsx world/src/figures.ts [--quick]` measures the mini world on the
 * built ONNX files (artifacts/models/mini-world*) with the shared Euler scheduler and writes the
 * figures of docs/mini-world.md: per-prompt convergence tables (mean |x_t - x_129| over 4 seeds,
 * SPEC §1 step grid), step-strip PNGs, a convergence SVG, and the UNet's time per call.
 * Not part of serving or set-up.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { interpolateDense } from "@budgetfusion/shared/grid/step-grid";
import { lsnr } from "@budgetfusion/shared/metrics/lsnr";
import { stepBudget } from "@budgetfusion/shared/plateau/step-budget";
import { lineChart } from "@budgetfusion/shared/plot/svg-plot";
import { encode } from "fast-png";
import { DEFAULT_MODELS_ROOT } from "./build";
import { CLIP_MEAN, CLIP_STD } from "./embedding-graphs";
import { MODEL_DIRS } from "./model-files";
import { onnxWorldNets, toPixelValues, worldImageEmbedder } from "./onnx-nets";
import { initialNoise, sampleLatents } from "./sampler";
import { promptEncoder } from "./tokenize";
import { SCHEDULER_CONFIG } from "./world-config";
import { C_TEXT, VAE_SCALING_FACTOR } from "./world-spec";

const STEPS = [1, 2, 3, 5, 9, 17, 22, 27, 33, 42, 65, 129];
const PROMPTS = [
  "a plain white wall",
  "a red ball on a white floor",
  "a few balloons in the sky",
  "two dogs on a sandy beach",
  "a green meadow with grass",
  "a colorful park with a crowd",
  "a busy city street at night",
  "a detailed forest with leaves",
];
const STRIP_STEPS = [1, 2, 3, 5, 9, 17, 33, 129];
const DOCS = resolve(DEFAULT_MODELS_ROOT, "../../docs");
const SIZE = 16; // latent side: 128x128 images

const quick = process.argv.includes("--quick");
const port = createNodeOrt(1);

const dir = join(DEFAULT_MODELS_ROOT, MODEL_DIRS.diffusion);
const tok = await promptEncoder((rel) => readFile(join(dir, "tokenizer", rel), "utf8"));
const nets = await onnxWorldNets(
  port,
  (rel) => new Uint8Array(readFileSync(join(dir, rel))),
  SIZE,
  SIZE,
);
const folder = (name: string) => (rel: string) =>
  new Uint8Array(readFileSync(join(DEFAULT_MODELS_ROOT, name, rel)));
const clip = await worldImageEmbedder(port, folder(MODEL_DIRS.clip));
const dsim = await worldImageEmbedder(port, folder(MODEL_DIRS.dreamsim));

async function image(
  prompt: string,
  steps: number,
  seed: number,
  guidance: number,
): Promise<Float32Array> {
  const lat = await sampleLatents(nets, {
    condIds: tok.encode([prompt]),
    uncondIds: tok.encode([""]),
    h: SIZE,
    w: SIZE,
    steps,
    guidance,
    noise: initialNoise(seed, SIZE, SIZE),
    schedulerConfig: SCHEDULER_CONFIG,
  });
  const img = await nets.decode(
    lat.map((v) => v / VAE_SCALING_FACTOR),
    1,
  );
  return img.map((v) => Math.min(Math.max(v, -1), 1));
}

const meanAbs = (a: Float32Array, b: Float32Array) =>
  a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);

interface Curves {
  dist: number[];
  lsnr: number[];
  dsim: number[];
  iclip: number[];
}

async function curves(prompt: string, guidance: number, seeds: number): Promise<Curves> {
  const zeros = () => STEPS.map(() => 0);
  const out: Curves = { dist: zeros(), lsnr: zeros(), dsim: zeros(), iclip: zeros() };
  for (let seed = 0; seed < seeds; seed++) {
    const imgs = [];
    for (const t of STEPS) imgs.push(await image(prompt, t, seed, guidance));
    const ref = imgs[imgs.length - 1];
    const px = (im: Float32Array, mean: number[], std: number[]) =>
      toPixelValues(im, 8 * SIZE, 8 * SIZE, mean, std);
    const refC = await clip.embedPixels(px(ref, CLIP_MEAN, CLIP_STD), 1);
    const refD = await dsim.embedPixels(px(ref, [0, 0, 0], [1, 1, 1]), 1);
    for (const [i, im] of imgs.entries()) {
      out.dist[i] += meanAbs(im, ref) / seeds;
      out.lsnr[i] += lsnr(toHwc(im)) / seeds;
      out.dsim[i] +=
        (1 - dot(await dsim.embedPixels(px(im, [0, 0, 0], [1, 1, 1]), 1), refD)) / seeds;
      out.iclip[i] +=
        Math.min(
          Math.max(dot(await clip.embedPixels(px(im, CLIP_MEAN, CLIP_STD), 1), refC), 0),
          1,
        ) / seeds;
    }
  }
  return out;
}

/** [3, H, W] in [-1, 1] -> the metrics' HWC image in [0, 1]. */
function toHwc(im: Float32Array): { data: Float32Array; width: number; height: number } {
  const side = 8 * SIZE;
  const data = new Float32Array(side * side * 3);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < side * side; p++) data[p * 3 + c] = im[c * side * side + p] / 2 + 0.5;
  }
  return { data, width: side, height: side };
}

function strip(imgs: Float32Array[]): Uint8Array {
  const side = 8 * SIZE;
  const gap = 2;
  const width = imgs.length * side + (imgs.length - 1) * gap;
  const data = new Uint8Array(width * side * 3).fill(255);
  imgs.forEach((im, k) => {
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        for (let c = 0; c < 3; c++) {
          data[(y * width + k * (side + gap) + x) * 3 + c] = Math.round(
            (im[(c * side + y) * side + x] / 2 + 0.5) * 255,
          );
        }
      }
    }
  });
  return encode({ width, height: side, data, channels: 3 });
}

const COLOURS = [
  "#888",
  "#d62728",
  "#1f77b4",
  "#bcbd22",
  "#2ca02c",
  "#9467bd",
  "#17becf",
  "#8c564b",
];

function svg(rows: { prompt: string; dist: number[] }[]): string {
  const series = rows.map((r, i) => ({
    label: r.prompt,
    x: STEPS,
    y: r.dist,
    color: COLOURS[i % COLOURS.length],
  }));
  const chart = lineChart(series, {
    title: "Mini world: distance to the 129-step image",
    xLabel: "steps t (log scale)",
    yLabel: "mean |x_t - x_129|",
    xLog: true,
    yMin: 0,
    width: 840,
    legendWidth: 220,
  });
  return `${chart}\n`;
}

async function unetTiming(b: number): Promise<number> {
  const ehs = await nets.encode(tok.encode(Array(b).fill("a colorful park with a crowd")), b);
  const x = initialNoise(1, SIZE, SIZE);
  const sample = Float32Array.from({ length: b * x.length }, (_, i) => x[i % x.length]);
  for (let i = 0; i < 50; i++) await nets.unet(sample, 500, ehs, b);
  const n = 1000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await nets.unet(sample, 500, ehs, b);
  return (performance.now() - t0) / n;
}

const fmt = (v: number) => v.toFixed(3).replace(/^0/, "");
const seeds = quick ? 1 : 4;
const lines: string[] = [];
const header = `| prompt | ${STEPS.join(" | ")} |`;
const sep = `|---|${STEPS.map(() => "---").join("|")}|`;
const rows: { prompt: string; dist: number[] }[] = [];
const metricRows: string[] = [];
const budgetRows: string[] = [];
for (const p of PROMPTS) {
  const c = await curves(p, 1, seeds);
  rows.push({ prompt: p, dist: c.dist });
  lines.push(`| ${p} | ${c.dist.map(fmt).join(" | ")} |`);
  metricRows.push(
    `| ${p} | ${[1, 3, 9, 33].map((t) => `${fmt(c.dsim[STEPS.indexOf(t)])} / ${fmt(c.iclip[STEPS.indexOf(t)])}`).join(" | ")} |`,
  );
  // SPEC §5 step budget on the measured curves (dense by linear interpolation), with and
  // without the absolute floor eps.
  const dense = {
    lsnr: interpolateDense(c.lsnr),
    dsim: interpolateDense(c.dsim),
    iclip: interpolateDense(c.iclip),
  };
  const withFloor = stepBudget(dense);
  const noFloor = stepBudget(dense, { eps: 0 });
  const per = (b: typeof withFloor) =>
    `${b.perMetric.lsnr} / ${b.perMetric.dsim} / ${b.perMetric.iclip}`;
  budgetRows.push(
    // The detail share q = 1 - L-SNR (SPEC §3 revised), the column's quality reading.
    `| ${p} | ${fmt(1 - c.lsnr[0])} -> ${fmt(1 - c.lsnr[STEPS.length - 1])} | ${per(withFloor)} | **${withFloor.steps}** | ${noFloor.steps} |`,
  );
  console.log(p, c.dist.map(fmt).join(" "), "t*", withFloor.steps);
}
const cfgLines: string[] = [];
for (const p of [PROMPTS[0], PROMPTS[1], PROMPTS[4]]) {
  const c = await curves(p, 7.5, quick ? 1 : 2);
  cfgLines.push(`| ${p} | ${c.dist.map(fmt).join(" | ")} |`);
}
for (const p of [PROMPTS[1], PROMPTS[5]]) {
  const imgs = [];
  for (const t of STRIP_STEPS) imgs.push(await image(p, t, 0, 7.5));
  writeFileSync(join(DOCS, "img", `mini-world-cfg7.5-${p.replaceAll(" ", "-")}.png`), strip(imgs));
}
for (const p of PROMPTS) {
  const imgs = [];
  for (const t of STRIP_STEPS) imgs.push(await image(p, t, 0, 1));
  writeFileSync(join(DOCS, "img", `mini-world-${p.replaceAll(" ", "-")}.png`), strip(imgs));
}
const seedImgs = [];
for (let s = 0; s < 6; s++) seedImgs.push(await image("a colorful park with a crowd", 129, s, 1));
writeFileSync(join(DOCS, "img", "mini-world-seeds-park.png"), strip(seedImgs));
writeFileSync(join(DOCS, "img", "mini-world-convergence.svg"), svg(rows));
const t1 = await unetTiming(1);
const t2 = await unetTiming(2);
const report = [
  `Generated by world/src/figures.ts (${seeds} seeds, 128x128, guidance 1, trailing spacing).`,
  "",
  "Mean |x_t - x_129| (decoded pixels in [-1, 1]):",
  "",
  header,
  sep,
  ...lines,
  "",
  "D-SIM / I-CLIP against the 129-step image with the world's own embedding models, at t = 1 | 3 | 9 | 33:",
  "",
  "| prompt | t=1 | t=3 | t=9 | t=33 |",
  "|---|---|---|---|---|",
  ...metricRows,
  "",
  "Step budget t* (SPEC §5, w = .3/.2/.5) on the measured seed-averaged curves:",
  "",
  "| prompt | 1 - L-SNR t=1 -> 129 | t*_LSNR / t*_DSIM / t*_ICLIP (eps 5e-4) | t* | t* without floor |",
  "|---|---|---|---|---|",
  ...budgetRows,
  "",
  "Guidance 7.5 (for comparison; not recommended):",
  "",
  header,
  sep,
  ...cfgLines,
  "",
  `UNet time per call (onnxruntime-node CPU, 1 intra-op thread, 16x16x4 latent): batch 1 ${t1.toFixed(3)} ms, batch 2 ${t2.toFixed(3)} ms (1-minute load average ${loadavg()[0].toFixed(1)} on ${"a shared machine"}).`,
  `text features: ${C_TEXT} channels.`,
];
writeFileSync(join(DOCS, "img", "mini-world-measurements.md"), `${report.join("\n")}\n`);
console.log(report.join("\n"));
await nets.release();
