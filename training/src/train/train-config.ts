/**
 * Training configuration (SPEC §4: Adam lr 1e-4, batch 32, paper epochs 25/25/50) with the
 * CPU-friendly defaults of this project (H = 64, M = 64) and the paper sizes as a preset
 * (H = 512, M = 128). Dropout: the paper uses dropout on the BiLSTM output without giving p;
 * 0.1 is our default.
 */
import { ConfigError } from "@budgetfusion/shared/errors";
import { z } from "zod";
import { ARCHITECTURES, stepGridSchema } from "../model/config";

const trainConfigSchema = z.object({
  architecture: z.enum(ARCHITECTURES).default("bilstm"),
  hidden: z.number().int().positive().default(64),
  mlp: z.number().int().positive().default(64),
  layers: z.number().int().min(1).max(8).default(2),
  dropout: z.number().min(0).max(0.95).default(0.1),
  /** BiLSTM tail padding (model/config.ts); 0 = the paper's network. */
  tailPad: z.number().int().min(0).max(256).default(0),
  /** Grid-interpolated output (model/grid-output.ts): the sampled steps T; absent = off. */
  outputGrid: stepGridSchema.optional(),
  lr: z.number().positive().default(1e-4),
  batchSize: z.number().int().positive().default(32),
  maxEpochs: z.number().int().min(1).default(25),
  /** Stop after this many epochs without a better validation loss. */
  patience: z.number().int().min(1).default(5),
  seed: z.number().int().min(0).default(0),
  /**
   * Weight of the first-difference term of the loss (model/curve-loss.ts). 0 = the paper's
   * plain L2 on the dense targets.
   */
  diffWeight: z.number().min(0).default(0),
  /** 1 = main thread; n > 1 = n worker threads (data parallel). */
  threads: z.number().int().min(1).max(64).default(2),
});
export type TrainConfig = z.infer<typeof trainConfigSchema>;
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

export const PAPER_SIZES = { hidden: 512, mlp: 128, layers: 2 } as const;

export function parseTrainConfig(raw: unknown): TrainConfig {
  const r = trainConfigSchema.safeParse(raw ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = `config.${issue.path.join(".")}`;
    throw new ConfigError(`${field}: ${issue.message}`, { field });
  }
  return r.data;
}
