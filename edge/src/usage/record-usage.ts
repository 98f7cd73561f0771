/**
 * What each event adds to usage_daily (per key, per UTC day of the event): a budget served, a
 * job accepted, a job finished. Savings are counted only where BudgetFusion chose the steps
 * (budgets, and jobs with steps "auto"): a fixed step count saves nothing by being small.
 * GPU seconds are the worker's model compute (shared/src/usage/compute-time.ts), and a saving in
 * GPU seconds is what the same image would have cost at the other step count minus its cost.
 */
import { PAPER_REFERENCE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import {
  type ComputeTimings,
  computeMs,
  computeMsAtSteps,
} from "@budgetfusion/shared/usage/compute-time";
import type { EdgeDb } from "../db/client";
import {
  addUsage,
  settleOwner,
  type UsageCounterColumn,
  type UsageIncrement,
  usageRowsPerStatement,
} from "../db/queries/usage";
import type { Consumer } from "../keys/consumer";
import { CoalescedCounters } from "./coalesced-counters";

export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

function addOne(db: EdgeDb, keyId: string, day: string, increment: UsageIncrement) {
  return addUsage(db, [{ keyId, day, increment }]);
}

/** Budgets are the edge's most frequent request: their counts are written once a second. */
const BUDGET_USAGE_WINDOW_MS = 1_000;
const BUDGET_COLUMNS = 4;
const budgetCounters = new WeakMap<
  EdgeDb,
  CoalescedCounters<{ keyId: string; day: string }, UsageCounterColumn>
>();

/**
 * Counts a served budget under its consumer: added in this isolate and written with the other
 * budgets of its second (coalesced-counters.ts), after the response through `defer`.
 */
export function recordBudget(
  db: EdgeDb,
  consumer: Consumer,
  steps: number,
  now: number,
  defer: (work: Promise<unknown>) => void,
): void {
  let counters = budgetCounters.get(db);
  if (counters === undefined) {
    counters = new CoalescedCounters(
      (rows) =>
        addUsage(
          db,
          rows.map(({ key, counts }) => ({ ...key, increment: counts })),
        ),
      (key) => `${key.keyId}\n${key.day}`,
      {
        windowMs: BUDGET_USAGE_WINDOW_MS,
        rowsPerWrite: usageRowsPerStatement(BUDGET_COLUMNS),
      },
    );
    budgetCounters.set(db, counters);
  }
  const increment = {
    budgets: 1,
    budgetSteps: steps,
    budgetStepsSavedVsBaseline: consumer.baselineSteps - steps,
    budgetStepsSavedVsReference: PAPER_REFERENCE_STEPS - steps,
  };
  counters.add({ keyId: consumer.keyId, day: utcDay(now) }, increment, defer);
}

export function recordJobAccepted(db: EdgeDb, consumer: Consumer, steps: number, now: number) {
  return addOne(db, consumer.keyId, utcDay(now), { jobs: 1, stepsRequested: steps });
}

export type JobOutcome =
  | {
      status: "succeeded";
      steps: number;
      stepsSource: "auto" | "fixed";
      /** The worker's x-bf-timings. */
      timings: ComputeTimings | undefined;
    }
  | { status: "failed" }
  /** Canceled by its consumer: frees its slot; counted as canceled, nothing spent is billed. */
  | { status: "canceled" };

/**
 * Counts a finished job under its owner, once (job_owners settlement): a job finished twice
 * (it cannot be, completion is conditional on the attempt) or one without an owner adds nothing.
 * Called by the dispatcher after the job's final transition; it never throws, since accounting
 * must not fail a finished job (a failure is logged, and that job's outcome goes uncounted).
 */
export async function recordJobFinished(
  db: EdgeDb,
  jobId: string,
  outcome: JobOutcome,
  now: number,
): Promise<void> {
  try {
    await settleAndCount(db, jobId, outcome, now);
  } catch (err) {
    console.error(`usage of job ${jobId} was not recorded:`, err);
  }
}

async function settleAndCount(db: EdgeDb, jobId: string, outcome: JobOutcome, now: number) {
  const owner = await settleOwner(db, jobId, now);
  if (owner === undefined) return;
  const day = utcDay(now);
  if (outcome.status === "failed") {
    await addOne(db, owner.keyId, day, { jobsFailed: 1 });
    return;
  }
  if (outcome.status === "canceled") {
    await addOne(db, owner.keyId, day, { jobsCanceled: 1 });
    return;
  }
  const { steps, timings } = outcome;
  const spentMs = computeMs(timings) ?? 0;
  const savedSeconds = (atSteps: number) =>
    ((computeMsAtSteps(timings, steps, atSteps) ?? spentMs) - spentMs) / 1000;
  await addOne(db, owner.keyId, day, {
    jobsSucceeded: 1,
    stepsSpent: steps,
    gpuSeconds: spentMs / 1000,
    ...(outcome.stepsSource === "auto"
      ? {
          autoJobs: 1,
          stepsSavedVsBaseline: owner.baselineSteps - steps,
          stepsSavedVsReference: PAPER_REFERENCE_STEPS - steps,
          gpuSecondsSavedVsBaseline: savedSeconds(owner.baselineSteps),
          gpuSecondsSavedVsReference: savedSeconds(PAPER_REFERENCE_STEPS),
        }
      : {}),
  });
}
