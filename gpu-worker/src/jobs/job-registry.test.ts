import { MAX_REPORTED_JOB_IDS } from "@budgetfusion/shared/schemas/worker-api";
import { describe, expect, it } from "vitest";
import { JobRegistry } from "./job-registry";

describe("JobRegistry.reportedIds (the heartbeat's job_ids)", () => {
  it("lists the jobs still held and drops each once its answer is ready", () => {
    const jobs = new JobRegistry();
    const a = jobs.track("job-a", 4);
    jobs.track("job-b", 4);
    expect(jobs.reportedIds()).toEqual(["job-a", "job-b"]);
    jobs.release(a);
    expect(jobs.reportedIds()).toEqual(["job-b"]);
    // Finished jobs stay readable for progress, but are not reported as held.
    expect(jobs.get("job-a")?.progress().state).toBe("succeeded");
  });

  it("reports nothing rather than a truncated list when more are held than a heartbeat carries", () => {
    const jobs = new JobRegistry();
    for (let i = 0; i <= MAX_REPORTED_JOB_IDS; i++) jobs.track(`job-${i}`, 1);
    expect(jobs.reportedIds()).toBeUndefined();
  });
});
