/**
 * What each plan allows. The per-minute limits are enforced by Cloudflare's rate-limiting
 * bindings (wrangler.toml `[[ratelimits]]`), which cannot be asked for their configuration, so
 * the numbers are repeated here for the key views and error bodies; test/workerd/limits.test.ts
 * counts where each binding refuses and fails when the two disagree.
 */
import type { PlanName } from "@budgetfusion/shared/schemas/consumer-api";

/** A rate-limiting binding's name on Env (one per plan and kind of request). */
type RateLimitBinding = {
  [K in keyof Env]: Env[K] extends RateLimit ? K : never;
}[keyof Env];

export type LimitedKind = "budgets" | "generations";

export interface Plan {
  /** Requests per `periodS` of each kind, and the binding that counts them. */
  rate: Record<LimitedKind, { limit: number; binding: RateLimitBinding }>;
  /** The binding's window; Cloudflare offers 10 s and 60 s. */
  periodS: 60;
  /** Default concurrent-jobs cap of a key on this plan (a key may set its own). */
  concurrentJobs: number;
}

export const PLANS: Record<PlanName, Plan> = {
  free: {
    rate: {
      budgets: { limit: 60, binding: "BUDGET_LIMIT_FREE" },
      generations: { limit: 10, binding: "GENERATE_LIMIT_FREE" },
    },
    periodS: 60,
    // Room for the page's comparison (t*, 65 and 20 steps of one prompt) plus one more.
    concurrentJobs: 4,
  },
  pro: {
    rate: {
      budgets: { limit: 1200, binding: "BUDGET_LIMIT_PRO" },
      generations: { limit: 120, binding: "GENERATE_LIMIT_PRO" },
    },
    periodS: 60,
    concurrentJobs: 32,
  },
};

/** The limit names used in key views and in 429 bodies (`error.details.limit`). */
export const LIMIT_NAMES: Record<LimitedKind, "budgets_per_minute" | "generations_per_minute"> = {
  budgets: "budgets_per_minute",
  generations: "generations_per_minute",
};
