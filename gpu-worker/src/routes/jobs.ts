/**
 * GET /v1/jobs/:id (progress: state, step, steps, elapsed and remaining time), GET
 * /v1/jobs/:id/events (the same as server-sent events: one `progress` event per change, then
 * one `done` event with the final state, then the stream ends) and DELETE /v1/jobs/:id (cancel:
 * a queued job is dropped, a running one leaves the batch at the next step boundary; its POST
 * /v1/generate answers 499 cancelled and the job ends `canceled`). Ids are the request's job_id
 * (the edge's job id).
 */
import { NotFoundError } from "@budgetfusion/shared/errors";
import type { JobProgress } from "@budgetfusion/shared/schemas/worker-api";
import { createFactory } from "hono/factory";
import { streamSSE } from "hono/streaming";
import { isFinal, type JobRegistry } from "../jobs/job-registry";

/** A comment line this often keeps proxies from closing a quiet stream (a long queue wait). */
const KEEPALIVE_MS = 15_000;

function held(deps: { jobs: JobRegistry }, id: string) {
  const job = deps.jobs.get(id);
  if (job === undefined) throw new NotFoundError(`no job ${id} on this worker`, { field: "id" });
  return job;
}

export function jobProgressHandlers(deps: { jobs: JobRegistry }) {
  return createFactory().createHandlers((c) =>
    c.json(held(deps, c.req.param("id") ?? "").progress()),
  );
}

export function jobEventsHandlers(deps: { jobs: JobRegistry }) {
  return createFactory().createHandlers((c) => {
    const job = held(deps, c.req.param("id") ?? "");
    return streamSSE(c, async (stream) => {
      // Updates arrive faster than a slow reader takes them: only the newest is worth sending.
      let latest: JobProgress = job.progress();
      let wake: (() => void) | undefined;
      const unsubscribe = job.subscribe((p) => {
        latest = p;
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      let sent: JobProgress | undefined;
      while (!stream.aborted) {
        if (latest !== sent) {
          sent = latest;
          const final = isFinal(sent);
          await stream.writeSSE({ event: final ? "done" : "progress", data: JSON.stringify(sent) });
          if (final) break;
          continue;
        }
        const woken = new Promise<boolean>((r) => {
          wake = () => r(true);
        });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const keepalive = new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), KEEPALIVE_MS);
        });
        const changed = await Promise.race([woken, keepalive]);
        clearTimeout(timer);
        wake = undefined;
        if (!changed) await stream.write(": keepalive\n\n");
      }
      unsubscribe();
    });
  });
}

export function jobCancelHandlers(deps: { jobs: JobRegistry }) {
  return createFactory().createHandlers((c) => {
    const job = held(deps, c.req.param("id") ?? "");
    if (isFinal(job.progress())) return c.json({ ...job.progress(), canceled: false }, 200);
    job.cancel();
    return c.json({ ...job.progress(), canceled: true }, 202);
  });
}
