/**
 * `npm run pipeline -- --model DIR --clip DIR --prompts FILE ...`, `npm run pipeline:smoke` and
 * `npm run pipeline:mini-world`: the whole chain of SPEC §1-§6, resumable by stage
 * (pipeline/run-pipeline.ts). Flags: pipeline/pipeline-options.ts (`--help` lists them); exit
 * codes: cli.ts; documentation: docs/training.md.
 */
import { PIPELINE_FLAGS, resolvePipelineOptions } from "../pipeline/pipeline-options";
import { runPipeline } from "../pipeline/run-pipeline";
import { type Cli, isEntryPoint, runCli } from "./cli";

const log = (line: string) => process.stderr.write(`[pipeline] ${line}\n`);

export const PIPELINE_CLI: Cli<typeof PIPELINE_FLAGS> = {
  name: "pipeline",
  usage: "npm run pipeline --",
  summary:
    "Sample prompts, build the image dataset, measure the metrics, train and export the " +
    "predictors, evaluate, and write a bundle. Every stage resumes: rerun the same command.",
  flags: PIPELINE_FLAGS,
  epilog:
    "Presets: npm run pipeline:smoke (tiny, fixture models), npm run pipeline:mini-world.\n" +
    "Details: docs/training.md",
  main: async ({ args, explicit }) => {
    const started = performance.now();
    const { timings } = await runPipeline(resolvePipelineOptions(args, explicit), log);
    const total = ((performance.now() - started) / 1000).toFixed(1);
    log(`finished in ${total} s: ${JSON.stringify(timings)}`);
  },
};

if (isEntryPoint(import.meta.url)) runCli(PIPELINE_CLI);
