/**
 * What the page at / writes about a running or finished job. The page embeds these functions'
 * source (Function.toString, page-script.ts), so each refers to nothing outside its own body
 * and declares no inner functions (the bundler would wrap those in helpers the page lacks).
 */

/** The fields of GET /v1/jobs/:id the page reads; `progress` only where the edge reports it. */
export interface JobProgressView {
  status: string;
  steps?: number;
  progress?: { step?: unknown; steps?: unknown; eta_ms?: unknown } | null;
}

/**
 * The job's progress as a fraction in [0, 1], or undefined when the edge does not report it
 * (the page then shows an indeterminate bar and the elapsed time).
 */
export function progressFraction(job: JobProgressView): number | undefined {
  if (job.status === "succeeded") return 1;
  const p = job.progress;
  if (p === null || p === undefined) return undefined;
  if (typeof p.step !== "number" || typeof p.steps !== "number" || p.steps <= 0) return undefined;
  return Math.min(1, Math.max(0, p.step / p.steps));
}

/** "queued · 0.4 s", "step 12 of 17 · about 0.3 s left", "running · 1.2 s", "done". */
export function progressText(job: JobProgressView, elapsedMs: number): string {
  if (job.status === "succeeded") return "done";
  if (job.status === "failed" || job.status === "canceled") return job.status;
  const elapsed = `${(elapsedMs / 1000).toFixed(1)} s`;
  const p = job.progress;
  const running = job.status === "running";
  if (running && p && typeof p.step === "number" && typeof p.steps === "number") {
    const eta =
      typeof p.eta_ms === "number" ? ` · about ${(p.eta_ms / 1000).toFixed(1)} s left` : "";
    return `step ${p.step} of ${p.steps}${eta}`;
  }
  return `${job.status} · ${elapsed}`;
}

/** "26 % of the 65-step compute": a share of the reference image's measured compute. */
export function shareOfCompute(ms: number, referenceMs: number, reference: number): string {
  if (!(referenceMs > 0)) return "";
  return `${Math.round((ms / referenceMs) * 100)} % of the ${reference}-step compute`;
}
