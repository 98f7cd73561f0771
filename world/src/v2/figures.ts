/**
 * Dev tool: `npx tsx world/src/v2/figures.ts [CALIBRATION_JSON]` writes docs/world-v2.md's
 * pictures from the built world v2 (artifacts/models/mini-world-v2*): a grid of the same prompts
 * at several step counts (PNG, shared's image writer) and, from the chain's calibration
 * measurement (world/tools/world_v2_measure.py --json), the mean metric curves (SVG, shared's
 * svg-plot). Not part of serving or set-up.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { encodeRgbToPng } from "@budgetfusion/shared/image/png-image";
import { lineChart } from "@budgetfusion/shared/plot/svg-plot";
import { seededLatents } from "@budgetfusion/shared/random/seeded-random";
import { DEFAULT_MODELS_ROOT } from "../build";
import { onnxWorldNets } from "../onnx-nets";
import { sampleLatents } from "../sampler";
import { promptEncoder } from "../tokenize";
import { SCHEDULER_CONFIG } from "../world-config";
import { VAE_SCALING_FACTOR } from "../world-spec";
import { worldV2Config } from "./config";
import { MODEL_DIRS_V2 } from "./model-files";
import { hiddenWidth } from "./text-graphs";

const PROMPTS = [
  "a plain white wall",
  "a red ball on a white floor",
  "two dogs on a sandy beach",
  "three green apples on a wooden table",
  "a busy city street at night with many people",
  "a detailed forest with leaves",
];
const STEPS = [1, 2, 3, 5, 9, 17, 33, 129];
const DOCS_IMG = resolve(DEFAULT_MODELS_ROOT, "../../docs/img");
const N = 16;
const SIDE = 128;
const GAP = 4;

async function grid(): Promise<void> {
  const dir = join(DEFAULT_MODELS_ROOT, MODEL_DIRS_V2.diffusion);
  const port = createNodeOrt(1);
  const nets = await onnxWorldNets(
    port,
    (rel) => readFileSync(join(dir, rel)),
    N,
    N,
    hiddenWidth(worldV2Config()),
  );
  const tok = await promptEncoder((rel) => readFile(join(dir, "tokenizer", rel), "utf8"));
  const width = STEPS.length * SIDE + (STEPS.length - 1) * GAP;
  const height = PROMPTS.length * SIDE + (PROMPTS.length - 1) * GAP;
  const data = new Float32Array(width * height * 3).fill(1);
  for (const [row, prompt] of PROMPTS.entries()) {
    const ids = tok.encode([prompt]);
    const noise = seededLatents(7, [4, N, N]);
    for (const [col, steps] of STEPS.entries()) {
      const lat = await sampleLatents(nets, {
        condIds: ids,
        uncondIds: ids,
        h: N,
        w: N,
        steps,
        guidance: 1,
        noise,
        schedulerConfig: SCHEDULER_CONFIG,
      });
      const img = await nets.decode(
        lat.map((v) => v / VAE_SCALING_FACTOR),
        1,
      );
      for (let y = 0; y < SIDE; y++)
        for (let x = 0; x < SIDE; x++)
          for (let c = 0; c < 3; c++)
            data[((row * (SIDE + GAP) + y) * width + col * (SIDE + GAP) + x) * 3 + c] =
              img[(c * SIDE + y) * SIDE + x] / 2 + 0.5;
    }
    console.log(`grid: ${row + 1}/${PROMPTS.length} prompts`);
  }
  await nets.release();
  writeFileSync(join(DOCS_IMG, "world-v2-steps.png"), encodeRgbToPng({ data, width, height }));
}

interface Calibration {
  steps: number[];
  mean_curves: Record<"q" | "dsim" | "iclip", number[]>;
  prompts: number;
  seeds: number;
}

function curves(path: string): void {
  const cal = JSON.parse(readFileSync(path, "utf8")) as Calibration;
  const label = {
    q: "quality 1 - L-SNR",
    dsim: "D-SIM to 129 steps",
    iclip: "I-CLIP to 129 steps",
  };
  const svg = lineChart(
    (["q", "dsim", "iclip"] as const).map((k) => ({
      label: label[k],
      x: cal.steps,
      y: cal.mean_curves[k],
    })),
    {
      title: `World v2 on ${cal.prompts} calibration prompts x ${cal.seeds} seeds (mean)`,
      xLabel: "denoising steps",
      yLabel: "metric",
      xLog: true,
      yMin: 0,
      yMax: 1,
      legendWidth: 170,
    },
  );
  writeFileSync(join(DOCS_IMG, "world-v2-curves.svg"), svg);
}

const calibration = process.argv[2];
if (calibration) curves(resolve(calibration));
await grid();
