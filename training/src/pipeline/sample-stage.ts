/**
 * Sample stage (paper 3.1, Eq. 1; docs/training.md §1). Input: the caption files (--prompts),
 * the CLIP text model (--clip). Output: `<run>/prompts.json` + `prompt-embeddings.f32`
 * (sampling/prompt-set.ts); summary: the sampling counts and timings.
 */
import { loadClipTextEmbedder } from "@budgetfusion/inference/embedding/clip-text-embedder";
import type { ProgressSink } from "../progress/progress";
import { writePromptSet } from "../sampling/prompt-set";
import { type SampleResult, samplePrompts } from "../sampling/sample-prompts";
import type { PipelineOptions } from "./pipeline-options";
import type { PipelineStage } from "./pipeline-run";

/** samplePrompts' embedding callback driving a reporter, started on the first call. */
export function embeddingProgress(sink: ProgressSink) {
  let started = false;
  return (_stage: "embed", done: number, total: number) => {
    if (!started) sink.start(total, 0);
    started = true;
    sink.update(done);
    if (done === total) sink.stop();
  };
}

/** samplePrompts' options from the sampling flags (the pipeline's and the sample CLI's). */
export function samplingOptions(
  flags: Pick<
    PipelineOptions,
    "column" | "threshold" | "order" | "seed" | "max-candidates" | "max-prompts"
  >,
) {
  return {
    column: flags.column,
    threshold: flags.threshold,
    order: flags.order,
    seed: flags.seed,
    maxCandidates: flags["max-candidates"],
    maxPrompts: flags["max-prompts"],
  };
}

export const sampleStage: PipelineStage<SampleResult["stats"]> = {
  name: "sample",
  async run(run) {
    const o = run.o;
    const embedder = await loadClipTextEmbedder(run.ort, o.clip);
    try {
      const result = await samplePrompts(embedder, {
        captionsPath: o.prompts.split(","),
        ...samplingOptions(o),
        onProgress: embeddingProgress(run.progress("sample: embed", "captions")),
      });
      await writePromptSet(run.dir, result);
      return result.stats;
    } finally {
      await embedder.release();
    }
  },
};
