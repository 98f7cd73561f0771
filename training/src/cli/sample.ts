/**
 * `tsx training/src/cli/sample.ts --captions FILE --clip DIR --out DIR [flags]`: prompt sampling
 * alone (paper 3.1, Eq. 1); writes prompts.json + prompt-embeddings.f32 to --out and prints the
 * counts and timings. Flags: `--help`; exit codes: cli.ts.
 */
import { mkdir } from "node:fs/promises";
import { loadClipTextEmbedder } from "@budgetfusion/inference/embedding/clip-text-embedder";
import { createNodeOrt } from "@budgetfusion/inference/runtime/ort-node";
import { z } from "zod";
import { PIPELINE_FLAGS } from "../pipeline/pipeline-options";
import { embeddingProgress, samplingOptions } from "../pipeline/sample-stage";
import { consoleProgress } from "../progress/progress";
import { writePromptSet } from "../sampling/prompt-set";
import { samplePrompts } from "../sampling/sample-prompts";
import { type Cli, isEntryPoint, runCli, valueFlag } from "./cli";

// The sampling flags mean what they mean in the pipeline: one definition.
const { threshold, order, seed, column } = PIPELINE_FLAGS;
const SAMPLE_FLAGS = {
  captions: valueFlag(
    "FILE[,FILE]",
    "caption files (.txt, or .tsv with --column)",
    z.string().min(1),
  ),
  clip: valueFlag("DIR", "CLIP model (transformers.js layout)", z.string().min(1)),
  out: valueFlag("DIR", "output folder", z.string().min(1)),
  threshold,
  order,
  seed,
  column,
  "max-candidates": PIPELINE_FLAGS["max-candidates"],
  "max-prompts": PIPELINE_FLAGS["max-prompts"],
};

export const SAMPLE_CLI: Cli<typeof SAMPLE_FLAGS> = {
  name: "sample",
  usage: "tsx training/src/cli/sample.ts",
  summary: "Sample a diverse prompt set from caption files (paper 3.1, Eq. 1).",
  flags: SAMPLE_FLAGS,
  epilog: "Details: docs/training.md §1",
  main: async ({ args }) => {
    const embedder = await loadClipTextEmbedder(createNodeOrt(), args.clip);
    try {
      const result = await samplePrompts(embedder, {
        captionsPath: args.captions.split(","),
        ...samplingOptions(args),
        onProgress: embeddingProgress(consoleProgress("sample: embed", { unit: "captions" })),
      });
      await mkdir(args.out, { recursive: true });
      await writePromptSet(args.out, result);
      console.log(JSON.stringify(result.stats, null, 1));
    } finally {
      await embedder.release();
    }
  },
};

if (isEntryPoint(import.meta.url)) runCli(SAMPLE_CLI);
