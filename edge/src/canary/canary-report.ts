/**
 * GET /admin/bundles/:v/canary: traffic (how many budgets the candidate served of those computed
 * while it ran) and agreement, the distribution of t* differences (candidate - stable) over the
 * canary prompts. Quantiles are nearest-rank: the smallest difference whose cumulative count
 * reaches p of the samples, so they are always differences that occurred.
 */
import type { CanaryView } from "@budgetfusion/shared/schemas/consumer-api";
import type { CanaryRow } from "../db/queries/canaries";

interface DifferenceCount {
  difference: number;
  count: number;
}

function quantile(histogram: readonly DifferenceCount[], total: number, p: number): number {
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const { difference, count } of histogram) {
    seen += count;
    if (seen >= rank) return difference;
  }
  return histogram[histogram.length - 1].difference;
}

export function canaryView(row: CanaryRow, histogram: readonly DifferenceCount[]): CanaryView {
  const samples = histogram.reduce((n, h) => n + h.count, 0);
  const sum = (f: (h: DifferenceCount) => number) => histogram.reduce((s, h) => s + f(h), 0);
  const agreement: CanaryView["agreement"] =
    samples === 0
      ? {
          samples,
          mean_difference: null,
          mean_abs_difference: null,
          identical_share: null,
          quantiles: null,
          histogram: [],
        }
      : {
          samples,
          mean_difference: sum((h) => h.difference * h.count) / samples,
          mean_abs_difference: sum((h) => Math.abs(h.difference) * h.count) / samples,
          identical_share: sum((h) => (h.difference === 0 ? h.count : 0)) / samples,
          quantiles: {
            p05: quantile(histogram, samples, 0.05),
            p25: quantile(histogram, samples, 0.25),
            p50: quantile(histogram, samples, 0.5),
            p75: quantile(histogram, samples, 0.75),
            p95: quantile(histogram, samples, 0.95),
          },
          histogram: histogram.map((h) => ({ difference: h.difference, count: h.count })),
        };
  return {
    version: row.version,
    stable_version: row.stableVersion,
    share: row.share,
    status: row.status,
    started_at: new Date(row.startedAt).toISOString(),
    ended_at: row.endedAt === null ? null : new Date(row.endedAt).toISOString(),
    traffic: {
      budgets: row.budgets,
      canary_budgets: row.canaryBudgets,
      observed_share: row.budgets === 0 ? null : row.canaryBudgets / row.budgets,
    },
    agreement,
  };
}
