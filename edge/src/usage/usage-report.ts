/**
 * usage_daily rows -> the API's usage views: one row per key and day with activity (days
 * without any are left out), plus totals over the range.
 */
import { ValidationError } from "@budgetfusion/shared/errors";
import type { PlanName, UsageCounters } from "@budgetfusion/shared/schemas/consumer-api";
import type { UsageCounterColumn, UsageRow } from "../db/queries/usage";
import { utcDay } from "./record-usage";

const DAY_MS = 86_400_000;
/** Default range: the last 30 days, today included. */
const DEFAULT_DAYS = 30;
const MAX_DAYS = 366;

/** Column -> API field, complete by type: a new counter column must be named here. */
const FIELDS: Record<UsageCounterColumn, keyof UsageCounters> = {
  budgets: "budgets",
  budgetSteps: "budget_steps",
  budgetStepsSavedVsBaseline: "budget_steps_saved_vs_baseline",
  budgetStepsSavedVsReference: "budget_steps_saved_vs_reference",
  jobs: "jobs",
  stepsRequested: "steps_requested",
  jobsSucceeded: "jobs_succeeded",
  jobsFailed: "jobs_failed",
  jobsCanceled: "jobs_canceled",
  stepsSpent: "steps_spent",
  gpuSeconds: "gpu_seconds",
  autoJobs: "auto_jobs",
  stepsSavedVsBaseline: "steps_saved_vs_baseline",
  stepsSavedVsReference: "steps_saved_vs_reference",
  gpuSecondsSavedVsBaseline: "gpu_seconds_saved_vs_baseline",
  gpuSecondsSavedVsReference: "gpu_seconds_saved_vs_reference",
};
const COLUMNS = Object.keys(FIELDS) as UsageCounterColumn[];

/** The inclusive day range a query asks for, with its defaults and bounds. */
export function dayRange(query: { from?: string; to?: string }, now: number) {
  const to = query.to ?? utcDay(now);
  const from = query.from ?? utcDay(Date.parse(to) - (DEFAULT_DAYS - 1) * DAY_MS);
  if (from > to) throw new ValidationError("from must not be after to", { field: "from" });
  if ((Date.parse(to) - Date.parse(from)) / DAY_MS >= MAX_DAYS) {
    throw new ValidationError(`at most ${MAX_DAYS} days at once`, { field: "from" });
  }
  return { from, to };
}

function counters(row: UsageRow): UsageCounters {
  const out = {} as UsageCounters;
  for (const c of COLUMNS) out[FIELDS[c]] = row[c];
  return out;
}

export function totals(rows: readonly UsageRow[]): UsageCounters {
  const out = {} as UsageCounters;
  for (const c of COLUMNS) out[FIELDS[c]] = 0;
  for (const row of rows) for (const c of COLUMNS) out[FIELDS[c]] += row[c];
  return out;
}

export interface UsageOwner {
  key_id: string;
  name: string;
  plan: PlanName | null;
  baseline_steps: number;
}

/** One key's view: its days (oldest first) and totals. */
export function keyUsage(owner: UsageOwner, rows: readonly UsageRow[]) {
  return {
    ...owner,
    days: rows.map((r) => ({ day: r.day, ...counters(r) })),
    totals: totals(rows),
  };
}
