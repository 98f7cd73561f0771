/**
 * The consumer a request is served for: an API key's name, plan, limits and baseline, or, in
 * local mode (API_KEYS = "optional") without a key, the anonymous consumer, which has no limits.
 */
import {
  DEFAULT_BASELINE_STEPS,
  type KeyView,
  type PlanName,
} from "@budgetfusion/shared/schemas/consumer-api";
import type { ApiKeyRow } from "../db/queries/api-keys";
import { PLANS } from "./plans";

export interface Consumer {
  keyId: string;
  name: string;
  /** null: the anonymous consumer, which no rate limit or cap applies to. */
  plan: PlanName | null;
  baselineSteps: number;
  concurrentJobs: number | null;
}

/** The key id usage of unkeyed local-mode calls is recorded under. */
export const ANONYMOUS_KEY_ID = "anonymous";

export const ANONYMOUS: Consumer = {
  keyId: ANONYMOUS_KEY_ID,
  name: "anonymous (local mode, no key)",
  plan: null,
  baselineSteps: DEFAULT_BASELINE_STEPS,
  concurrentJobs: null,
};

export function keyConsumer(row: ApiKeyRow): Consumer {
  return {
    keyId: row.id,
    name: row.name,
    plan: row.plan,
    baselineSteps: row.baselineSteps,
    concurrentJobs: row.concurrentJobs,
  };
}

export function keyView(row: ApiKeyRow): KeyView {
  const plan = PLANS[row.plan];
  return {
    key_id: row.id,
    name: row.name,
    plan: row.plan,
    prefix: row.prefix,
    baseline_steps: row.baselineSteps,
    limits: {
      budgets_per_minute: plan.rate.budgets.limit,
      generations_per_minute: plan.rate.generations.limit,
      concurrent_jobs: row.concurrentJobs,
    },
    created_at: new Date(row.createdAt).toISOString(),
    revoked_at: row.revokedAt === null ? null : new Date(row.revokedAt).toISOString(),
  };
}
