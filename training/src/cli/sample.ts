/**
 * `tsx training/src/cli/sample.ts --captions FILE --clip DIR --out DIR [--threshold .75]
 * [--order shuffle|file] [--seed 0] [--column caption] [--max-candidates N] [--max-prompts N]`
 * Prompt sampling (paper 3.1, Eq. 1); writes prompts.json + prompt-embeddings.f32 to --out and
 * prints the counts and timings.
 */
import { mkdir } from "node:fs/promises";
import { parseArgs } from "node:util";
import { loadClipTextEmbedder } from "@budgetfusion/inference/embedding/clip-text-embedder";
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { z } from "zod";
import { writePromptSet } from "../sampling/prompt-set";
import { samplePrompts } from "../sampling/sample-prompts";
import { parseCli } from "./cli-args";

const argsSchema = z.object({
  captions: z.string().min(1),
  clip: z.string().min(1),
  out: z.string().min(1),
  threshold: z.coerce.number().gt(-1).max(1).default(0.75),
  order: z.enum(["shuffle", "file"]).default("shuffle"),
  seed: z.coerce.number().int().nonnegative().default(0),
  column: z.string().default("caption"),
  "max-candidates": z.coerce.number().int().positive().optional(),
  "max-prompts": z.coerce.number().int().positive().optional(),
});

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: Object.fromEntries(
      Object.keys(argsSchema.shape).map((k) => [k, { type: "string" as const }]),
    ),
  });
  const args = parseCli(argsSchema, values);
  const embedder = await loadClipTextEmbedder(createNodeOrt(), args.clip);
  const result = await samplePrompts(embedder, {
    captionsPath: args.captions,
    column: args.column,
    threshold: args.threshold,
    order: args.order,
    seed: args.seed,
    maxCandidates: args["max-candidates"],
    maxPrompts: args["max-prompts"],
    onProgress: (_stage, done, total) => {
      if (done === total || done % 5120 === 0) process.stderr.write(`embedded ${done}/${total}\n`);
    },
  });
  await embedder.release();
  await mkdir(args.out, { recursive: true });
  await writePromptSet(args.out, result);
  console.log(JSON.stringify(result.stats, null, 1));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
