/**
 * `npm run -s worker:generate -- --model DIR --prompt TEXT [--prompt TEXT ...] [--negative TEXT]
 *  --steps N --guidance G --height H --width W [--seed S] [--latents FILE] [--scheduler JSON]
 *  --out-latents FILE --out-image FILE [--png PREFIX] [--providers cpu,webgpu]`
 *
 * One generation through the worker's pipeline (SPEC §2), for the dataset builder and parity
 * checks. --latents: float32 LE [B,4,H/8,W/8], the N(0,1) draw before init_noise_sigma.
 * --scheduler: JSON object merged over the model's scheduler_config.json. --out-latents: final
 * latents before VAE scaling; --out-image: float32 [B,H,W,3] in [0,1]; --png PREFIX writes
 * PREFIX_0.png, ... Bad input: one line on stderr, exit 2; other failures exit 1.
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { defaultHubCache, resolveModel } from "@budgetfusion/inference/hub/resolve-model";
import { SdPipeline } from "@budgetfusion/inference/pipeline/sd-pipeline";
import { NodeOrtPort } from "@budgetfusion/inference/runtime/ort-node";
import { BudgetFusionError, ValidationError } from "@budgetfusion/shared/errors";
import { encodeImagePng } from "@budgetfusion/shared/image/png-image";
import { generateRequestSchema } from "@budgetfusion/shared/schemas/worker-api";
import { issueField } from "@budgetfusion/shared/schemas/zod-issues";
import { readFloat32File, writeFloat32File } from "../io/float32-file";

/** Schema field -> the flag that sets it, so errors name what the user typed. */
const FLAG_OF: Record<string, string> = {
  prompt: "--prompt",
  negative_prompt: "--negative",
  steps: "--steps",
  guidance_scale: "--guidance",
  seed: "--seed",
  width: "--width",
  height: "--height",
  scheduler: "--scheduler",
};

const OPTIONS = {
  model: { type: "string" },
  prompt: { type: "string", multiple: true },
  negative: { type: "string" },
  steps: { type: "string" },
  guidance: { type: "string" },
  height: { type: "string" },
  width: { type: "string" },
  seed: { type: "string" },
  latents: { type: "string" },
  scheduler: { type: "string" },
  "out-latents": { type: "string" },
  "out-image": { type: "string" },
  png: { type: "string" },
  providers: { type: "string" },
  help: { type: "boolean" },
} as const;

const USAGE =
  "usage: worker:generate --model DIR|hf:ORG/REPO[@rev] --prompt TEXT [--prompt TEXT ...] [--negative TEXT] --steps N --guidance G --height H --width W [--seed S] [--latents FILE] [--scheduler JSON] --out-latents FILE --out-image FILE [--png PREFIX] [--providers cpu,webgpu,cuda]";

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === "") {
    throw new ValidationError(`${flag} is required`, { field: flag });
  }
  return value;
}

function number(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) {
    throw new ValidationError(`${flag} must be a number, got "${value}"`, { field: flag });
  }
  return n;
}

function parseSchedulerFlag(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ValidationError("--scheduler must be a JSON object", { field: "--scheduler" });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError("--scheduler must be a JSON object", { field: "--scheduler" });
  }
  return value as Record<string, unknown>;
}

async function main(argv: string[]): Promise<void> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  } catch (cause) {
    throw new ValidationError((cause as Error).message, { cause });
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const modelSpec = required(v.model, "--model");
  if (v.prompt === undefined)
    throw new ValidationError("--prompt is required", { field: "--prompt" });
  const outLatents = required(v["out-latents"], "--out-latents");
  const outImage = required(v["out-image"], "--out-image");
  const request = generateRequestSchema.safeParse({
    prompt: v.prompt,
    negative_prompt: v.negative,
    steps: number(required(v.steps, "--steps"), "--steps"),
    guidance_scale: number(required(v.guidance, "--guidance"), "--guidance"),
    height: number(required(v.height, "--height"), "--height"),
    width: number(required(v.width, "--width"), "--width"),
    seed: v.seed === undefined ? undefined : number(v.seed, "--seed"),
    scheduler: parseSchedulerFlag(v.scheduler),
  });
  if (!request.success) {
    const issue = request.error.issues[0];
    const field = issueField(issue);
    const flag = FLAG_OF[field.split(".")[0]] ?? field;
    throw new ValidationError(`${flag}: ${issue.message}`, { field: flag });
  }
  const req = request.data;
  const prompts = Array.isArray(req.prompt) ? req.prompt : [req.prompt];
  const height = req.height ?? 0;
  const width = req.width ?? 0;
  const providers = v.providers?.split(",").map((s) => s.trim());

  const model = await resolveModel(modelSpec, {
    cacheDir: defaultHubCache(process.env.HF_HOME),
    token: process.env.HF_TOKEN,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const port = new NodeOrtPort(providers ?? ["cpu"]);
  const f = model.vaeScaleFactor;
  const latents =
    v.latents === undefined
      ? undefined
      : await readFloat32File(
          v.latents,
          prompts.length * model.latentChannels * (height / f) * (width / f),
          "--latents",
        );
  const pipeline = await SdPipeline.load(port, model);
  try {
    const result = await pipeline.generate({
      prompts,
      negativePrompt: req.negative_prompt,
      steps: req.steps,
      guidanceScale: req.guidance_scale,
      height,
      width,
      seed: req.seed,
      latents,
      scheduler: req.scheduler,
    });
    await writeFloat32File(outLatents, result.latents);
    await writeFloat32File(outImage, result.image);
    if (v.png !== undefined) {
      for (let i = 0; i < prompts.length; i++) {
        await writeFile(`${v.png}_${i}.png`, encodeImagePng(result.image, result.imageDims, i));
      }
    }
    const t = result.timings;
    process.stderr.write(
      `generated ${prompts.length} image(s) ${width}x${height}, ${req.steps} steps, seed ${
        result.seed ?? "explicit latents"
      }: total ${t.totalMs.toFixed(1)} ms, onnx ${t.ortMs.toFixed(1)} ms\n`,
    );
  } finally {
    await pipeline.dispose();
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // One line, no stack: the contract for bad input (and for every other failure).
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`worker:generate: ${message.replace(/\s*\n\s*/g, " ")}\n`);
  const usage =
    err instanceof ValidationError ||
    (err instanceof BudgetFusionError && ["shape_mismatch", "invalid_config"].includes(err.code));
  process.exitCode = usage ? 2 : 1;
});
