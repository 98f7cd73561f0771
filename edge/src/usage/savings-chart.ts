/**
 * The admin view's plot of savings over time: cumulative steps (or GPU seconds) saved by all
 * keys together, day by day over the range (days without activity add nothing), against each
 * key's baseline and against the paper's 65-step REFERENCE. Drawn with the project's SVG charts.
 */
import { lineChart, type Series } from "@budgetfusion/shared/plot/svg-plot";
import type { UsageCounterColumn, UsageRow } from "../db/queries/usage";

const DAY_MS = 86_400_000;

export type SavingsMetric = "steps" | "gpu_seconds";

const SERIES: Record<SavingsMetric, { label: string; column: UsageCounterColumn }[]> = {
  steps: [
    { label: "jobs vs baseline", column: "stepsSavedVsBaseline" },
    { label: "jobs vs 65 steps", column: "stepsSavedVsReference" },
    { label: "budgets vs baseline", column: "budgetStepsSavedVsBaseline" },
    { label: "budgets vs 65 steps", column: "budgetStepsSavedVsReference" },
  ],
  gpu_seconds: [
    { label: "jobs vs baseline", column: "gpuSecondsSavedVsBaseline" },
    { label: "jobs vs 65 steps", column: "gpuSecondsSavedVsReference" },
  ],
};

export function savingsChart(
  rows: readonly UsageRow[],
  range: { from: string; to: string },
  metric: SavingsMetric,
): string {
  const start = Date.parse(range.from);
  const days = Math.round((Date.parse(range.to) - start) / DAY_MS) + 1;
  const x = Array.from({ length: days }, (_, i) => i);
  const series: Series[] = SERIES[metric].map(({ label, column }) => {
    const perDay = new Array<number>(days).fill(0);
    for (const row of rows)
      perDay[Math.round((Date.parse(row.day) - start) / DAY_MS)] += row[column];
    let total = 0;
    return { label, x, y: perDay.map((v) => (total += v)) };
  });
  const unit = metric === "steps" ? "denoising steps" : "GPU seconds";
  return lineChart(series, {
    title: `Cumulative ${unit} saved, ${range.from} to ${range.to}`,
    xLabel: `days since ${range.from} (UTC)`,
    yLabel: `${unit} saved`,
    legendWidth: 170,
  });
}
