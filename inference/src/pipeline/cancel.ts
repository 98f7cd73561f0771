/** Cancellation of a running generation: the caller's AbortSignal, checked between ONNX calls. */
import { BudgetFusionError } from "@budgetfusion/shared/errors";

/** Error raised when the caller's signal aborts a generation. */
export class CancelledError extends BudgetFusionError {
  constructor(message = "generation cancelled", options: { cause?: unknown } = {}) {
    super("cancelled", message, options);
    this.name = "CancelledError";
  }
}

/** Throws the signal's BudgetFusionError reason as is, any other reason as a CancelledError. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const reason = signal.reason;
    if (reason instanceof BudgetFusionError) throw reason;
    throw new CancelledError(undefined, { cause: reason });
  }
}
