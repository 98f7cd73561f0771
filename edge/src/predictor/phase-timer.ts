/**
 * Timing hooks for the phases of a budget (Server-Timing entries of POST /v1/budget): a timer
 * starts a phase and returns the function that ends it. Inside workerd the clock only moves
 * across I/O, so these measure the waits (D1, the Cache API, the GPU worker), not the CPU.
 */
export type BudgetPhase = "cache-lookup" | "embed" | "predict";
export type PhaseTimer = (phase: BudgetPhase) => () => void;

export const untimed: PhaseTimer = () => () => undefined;

/** `work` timed as `phase`. */
export async function timed<T>(time: PhaseTimer, phase: BudgetPhase, work: () => Promise<T>) {
  const end = time(phase);
  try {
    return await work();
  } finally {
    end();
  }
}
