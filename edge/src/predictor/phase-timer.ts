/**
 * Timing hooks for the phases of a budget (Server-Timing entries of POST /v1/budget): a timer
 * starts a phase and returns the function that ends it. workerd moves its clock only at I/O and
 * timer events, so these measure the waits (D1, the Cache API, the GPU worker, ORT's yields);
 * a phase that only computes can read 0.
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
