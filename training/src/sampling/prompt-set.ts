/**
 * On-disk prompt set written by sampling and read by every later stage: `prompts.json`
 * ({stats, width, prompts: [{id, text, split}]}) and `prompt-embeddings.f32` (raw little-endian
 * float32, `[K, width]`, L2-normalised CLIP text embeddings in prompt-id order).
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ModelLoadError } from "@budgetfusion/shared/errors";
import { z } from "zod";
import type { SampleResult } from "./sample-prompts";

const PROMPTS_FILE = "prompts.json";
const EMBEDDINGS_FILE = "prompt-embeddings.f32";

const promptSetSchema = z.object({
  width: z.number().int().positive(),
  stats: z.record(z.string(), z.unknown()),
  prompts: z.array(
    z.object({
      id: z.number().int().nonnegative(),
      text: z.string().min(1),
      split: z.enum(["train", "test"]),
    }),
  ),
});
export type PromptSet = z.infer<typeof promptSetSchema> & { embeddings: Float32Array };

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await writeFile(`${path}.tmp`, data);
  await rename(`${path}.tmp`, path);
}

export async function writePromptSet(dir: string, result: SampleResult): Promise<void> {
  const bytes = new Uint8Array(
    result.embeddings.buffer,
    result.embeddings.byteOffset,
    result.embeddings.byteLength,
  );
  await writeAtomic(join(dir, EMBEDDINGS_FILE), bytes);
  const body = { width: result.width, stats: result.stats, prompts: result.prompts };
  await writeAtomic(join(dir, PROMPTS_FILE), `${JSON.stringify(body, null, 1)}\n`);
}

export async function readPromptSet(dir: string): Promise<PromptSet> {
  const path = join(dir, PROMPTS_FILE);
  let parsed: z.infer<typeof promptSetSchema>;
  try {
    parsed = promptSetSchema.parse(JSON.parse(await readFile(path, "utf8")));
  } catch (cause) {
    throw new ModelLoadError(`cannot read prompt set ${path}`, { field: "prompts", cause });
  }
  const buf = await readFile(join(dir, EMBEDDINGS_FILE));
  const embeddings = new Float32Array(buf.byteLength / 4);
  new Uint8Array(embeddings.buffer).set(buf);
  if (embeddings.length !== parsed.prompts.length * parsed.width) {
    throw new ModelLoadError(
      `${EMBEDDINGS_FILE} does not hold ${parsed.prompts.length}x${parsed.width} floats`,
      {
        field: "embeddings",
      },
    );
  }
  return { ...parsed, embeddings };
}
