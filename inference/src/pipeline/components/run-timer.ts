/**
 * Wall time spent inside session.run, per component, so the pipeline can report ONNX time vs
 * everything else (the worker bench's overhead ratio).
 */
export class RunTimer {
  ms = 0;
  calls = 0;

  async time<T>(fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.ms += performance.now() - start;
      this.calls++;
    }
  }
}
