/**
 * How the distilled student's agreement with the prompt-sensitive paper-size teacher grows with
 * distillation prompts and training settings (docs/notes/paper-size-edge.md, "Agreement"):
 *
 *   npm run bench:student -- [--sizes 480,1000,2000,3040] [--student '{"hidden":512}']
 *
 * The teacher (paper-size-bundle.ts, default PAPER_* settings) labels the first 3,200 COCO
 * captions once (~1,050 s on one ORT thread) into STUDENT_SWEEP_DIR (default
 * /tmp/bf-student-sweep); later runs reuse those labels. Every size trains on the first n
 * captions and is measured on the same last 160, through the exported ONNX file as the bench's
 * build does (build-edge-form.ts). `--student` overrides fields of DEFAULT_STUDENT. One JSON
 * line per size.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createNodeOrt, type FileOrtPort } from "@budgetfusion/inference/runtime/ort-node";
import { DENSE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import { DEFAULT_PLATEAU } from "@budgetfusion/shared/plateau/step-budget";
import { defaultStepEncoding } from "@budgetfusion/shared/predictor/step-encoding";
import {
  buildDistilledEdgeForm,
  onnxTeacher,
} from "@budgetfusion/training/distill/build-edge-form";
import { DEFAULT_STUDENT } from "@budgetfusion/training/distill/run-edge-form";
import { PAPER, paperSizeTeachers, promptLines, writeStandinClip } from "./paper-size-bundle";

const LABELLED = 3200;
const VALIDATION = 160;
const OUTPUTS = DENSE_STEPS * 3;

async function readF32(path: string): Promise<Float32Array | undefined> {
  const b = await readFile(path).catch(() => undefined);
  return b && new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

/** p̄ [LABELLED, width] and the teacher's curves [LABELLED, dense, 3], labelled once. */
async function labels(ort: FileOrtPort, dir: string) {
  const embFile = join(dir, "labels-emb.f32");
  const curveFile = join(dir, "labels-curves.f32");
  const [emb, curves] = [await readF32(embFile), await readF32(curveFile)];
  if (emb?.length === LABELLED * PAPER.width && curves?.length === LABELLED * OUTPUTS) {
    console.log(`reusing the teacher's labels in ${dir}`);
    return { emb, curves };
  }
  await mkdir(dir, { recursive: true });
  const clipDir = join(dir, "paper-size-standin-clip");
  await writeStandinClip(clipDir);
  const embedder = await (
    await import("@budgetfusion/inference/embedding/clip-text-embedder")
  ).loadClipTextEmbedder(ort, clipDir);
  const embed = async (prompts: string[]) => ({
    embeddings: await embedder.embed(prompts),
    n: prompts.length,
  });
  const enc = defaultStepEncoding(PAPER.width);
  const { teacherBytes } = await paperSizeTeachers(enc, embed);
  const prompts = await embed(await promptLines("coco/coco_val2017_captions.txt", LABELLED));
  const started = performance.now();
  let logged = 0;
  const teacher = await onnxTeacher(
    ort,
    teacherBytes,
    enc,
    DENSE_STEPS,
    (done) => {
      if (done - logged < 256 && done < LABELLED) return;
      logged = done;
      const rate = done / ((performance.now() - started) / 1000);
      console.log(
        `teacher labels: ${done}/${LABELLED}, ${rate.toFixed(1)}/s, ETA ${((LABELLED - done) / rate).toFixed(0)} s`,
      );
    },
    64,
  );
  const labelled = await teacher.curves(prompts.embeddings, LABELLED);
  await teacher.release();
  await writeFile(embFile, prompts.embeddings);
  await writeFile(curveFile, labelled);
  return { emb: prompts.embeddings, curves: labelled };
}

async function main() {
  const { values } = parseArgs({
    options: {
      sizes: { type: "string", default: "480,1000,2000,3040" },
      student: { type: "string", default: "{}" },
    },
  });
  const sizes = values.sizes.split(",").map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > LABELLED - VALIDATION)) {
    throw new Error(
      `--sizes: each must be an integer in 1..${LABELLED - VALIDATION}, got ${values.sizes}`,
    );
  }
  const student = {
    ...DEFAULT_STUDENT,
    ...(JSON.parse(values.student) as Partial<typeof DEFAULT_STUDENT>),
  };
  const ort = createNodeOrt(1);
  const { emb, curves } = await labels(
    ort,
    process.env.STUDENT_SWEEP_DIR ?? "/tmp/bf-student-sweep",
  );
  const v0 = LABELLED - VALIDATION;
  const val = { embeddings: emb.subarray(v0 * PAPER.width), n: VALIDATION };
  for (const n of sizes) {
    const started = performance.now();
    // The labels stand in for the teacher: training rows are the first n, validation the last.
    const teacher = async (e: Float32Array, k: number) =>
      e === val.embeddings
        ? curves.slice(v0 * OUTPUTS, (v0 + k) * OUTPUTS)
        : curves.slice(0, k * OUTPUTS);
    const form = await buildDistilledEdgeForm(
      { ort, width: PAPER.width, dense: DENSE_STEPS, plateau: DEFAULT_PLATEAU },
      teacher,
      { embeddings: emb.subarray(0, n * PAPER.width), n },
      val,
      student,
    );
    const seconds = Math.round((performance.now() - started) / 1000);
    console.log(
      JSON.stringify({ n, student, seconds, ...form.agreement, shortfall: form.shortfall }),
    );
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
