/**
 * The Generator port of the dataset builder (SPEC §2 dataset protocol): one text-to-image
 * generation returning a PNG. Two adapters implement it: in-process (the gpu-worker SD
 * pipeline as a library, in-process-generator.ts) and HTTP (a pool of GPU workers speaking
 * POST /v1/generate, http-generator.ts).
 */
import { createHash } from "node:crypto";

export interface GenerationRequest {
  prompt: string;
  negativePrompt?: string | null;
  steps: number;
  /** Seed of the N(0,1) initial latents; the same seed gives the same noise at every t. */
  seed: number;
  guidanceScale: number;
  width: number;
  height: number;
  /** Keys merged over the model's scheduler_config.json. */
  scheduler?: Readonly<Record<string, unknown>>;
}

export interface GenerationResult {
  png: Uint8Array;
  /** Wall time of the generation in ms as the generator saw it. */
  ms: number;
}

export interface Generator {
  /** Model id (folder name or hub id), recorded in the run. */
  readonly modelId: string;
  /** The scheduler_config.json the model ships, when the adapter can read it. */
  readonly schedulerConfig?: Readonly<Record<string, unknown>>;
  generate(request: GenerationRequest): Promise<GenerationResult>;
  /**
   * Several requests that differ only in prompt and seed, in one model batch (shared UNet calls),
   * results in request order. Optional: adapters without it get one generate() per request.
   */
  generateBatch?(requests: readonly GenerationRequest[]): Promise<GenerationResult[]>;
  close(): Promise<void>;
}

/**
 * Seed of the initial noise for (prompt id, dataset seed s): the first 4 bytes of
 * sha256("budgetfusion-noise:<promptId>:<s>") as an unsigned 32-bit integer. Every step count t
 * of one (p, s) uses it, so I(p, 129, s) is the reference of I(p, t, s) (SPEC §2).
 */
export function noiseSeed(promptId: number, seed: number): number {
  return createHash("sha256")
    .update(`budgetfusion-noise:${promptId}:${seed}`)
    .digest()
    .readUInt32BE(0);
}
