/**
 * Predictor model configuration (SPEC §4) and the three architectures it can build:
 * - "bilstm": the paper's network = fixtures/lstm-ref: LSTM(D,H, L layers, bidirectional,
 *   batch_first) -> dropout (train only) -> Linear(2H,M) -> ReLU -> Linear(M,1) -> sigmoid.
 * - "bilstm-3head": the same LSTM shared by three heads (one per metric, order
 *   METRIC_NAMES = lsnr, dsim, iclip); loss = mean of the three MSEs; output [N,T,3].
 * - "mlp-tanh": Table 1's ablation, the LSTM replaced by a per-step MLP:
 *   Linear(D,2H) -> tanh -> dropout -> Linear(2H,M) -> ReLU -> Linear(M,1) -> sigmoid. The
 *   hidden width 2H equals the BiLSTM's output width so the heads are identical.
 */
import { ConfigError } from "@budgetfusion/shared/errors";
import { z } from "zod";

/** A strictly ascending list of 1-based steps, at least two. */
export const stepGridSchema = z
  .array(z.number().int().min(1))
  .min(2)
  .refine((g) => g.every((t, k) => k === 0 || t > g[k - 1]), "must be strictly ascending");

export const ARCHITECTURES = ["bilstm", "mlp-tanh", "bilstm-3head"] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

const modelConfigSchema = z.object({
  architecture: z.enum(ARCHITECTURES).default("bilstm"),
  /** Input width D (prompt embedding width). */
  width: z.number().int().positive(),
  /** LSTM hidden size per direction (paper 512). */
  hidden: z.number().int().positive(),
  /** MLP width M (paper 128). */
  mlp: z.number().int().positive(),
  /** LSTM layers (paper 2). */
  layers: z.number().int().min(1).max(8).default(2),
  /** Dropout probability on the LSTM (or tanh) output, training only. */
  dropout: z.number().min(0).max(0.95).default(0),
  /**
   * BiLSTM only: the LSTM runs over `tailPad` extra copies of the last step's input and their
   * outputs are dropped (0 = the paper's network). Why: the reverse direction starts from a
   * zero state at t = 129, and the few steps it takes to settle put a ramp on the last steps
   * of the curve, exactly where SPEC §5 reads t* from per-step changes; padding lets it settle
   * before the real steps. Inputs and outputs keep their [batch, steps] shapes.
   */
  tailPad: z.number().int().min(0).max(256).default(0),
  /**
   * The sampled step grid T when the dense curve is the interpolation of the outputs at those
   * steps (model/grid-output.ts); absent = every step's own output (the paper's network).
   */
  outputGrid: stepGridSchema.optional(),
});
export type ModelConfig = z.infer<typeof modelConfigSchema>;

/** Parses a model config; the ConfigError names the offending field. */
export function parseModelConfig(raw: unknown): ModelConfig {
  const r = modelConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue.path.join(".");
    throw new ConfigError(`model config: ${field}: ${issue.message}`, { field });
  }
  return r.data;
}

/** The tail padding actually applied (a per-step MLP has no recurrence to settle). */
export function effectiveTailPad(cfg: Pick<ModelConfig, "architecture" | "tailPad">): number {
  return cfg.architecture === "mlp-tanh" ? 0 : cfg.tailPad;
}

/** Number of output heads: 3 for "bilstm-3head", otherwise 1. */
export function headCount(arch: Architecture): number {
  return arch === "bilstm-3head" ? 3 : 1;
}

/** Parameter-name prefix of head h ("" for single-head models, PyTorch ModuleList style else). */
export function headPrefix(arch: Architecture, h: number): string {
  return arch === "bilstm-3head" ? `heads.${h}.` : "";
}
