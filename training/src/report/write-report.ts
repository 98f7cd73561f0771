/**
 * Writes the evaluation report (SPEC §6): reports/<model>/evaluation.json (top-level
 * `relative_quality` per metric {mean, stderr}), evaluation.md (a verdict, Tables 1 and 2,
 * relative quality with the allocation ceiling, time, savings, t* with and without the floor, next to the paper's numbers) and SVG
 * plots (predicted vs measured curves, histogram of t*, quality vs compute).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DENSE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import { LSNR_DEFINITION } from "@budgetfusion/shared/metrics/lsnr-definition";
import { type GalleryRow, histogram, lineChart } from "@budgetfusion/shared/plot/svg-plot";
import { METRIC_NAMES, type MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";
import type { AllocationDiagnosis } from "../eval/allocation-realised";
import type { WeightChoice } from "../eval/allocation-weights";
import type { DeadZoneRecord, DeadZoneScore } from "../eval/dead-zone-choice";
import { type Evaluation, measuredDense, quality, type Variant } from "../eval/evaluate";
import { generationTflops, type SdCost } from "../eval/sd-cost";
import type { Stat } from "../eval/stat";
import type { MetricValues } from "../metrics/perceptual-metrics";
import { gallerySvg } from "./gallery";

const PAPER = {
  table1_mae_full: { lsnr: 0.026, dsim: 0.037, iclip: 0.031 },
  relative_quality: { lsnr: 0.066, dsim: 0.084, iclip: 0.087 },
  seconds_per_image: { ours: 2.89, reference: 8.0, hardware: "RTX 3090" },
};

const LABEL: Record<MetricName, string> = { lsnr: "L-SNR", dsim: "D-SIM", iclip: "I-CLIP" };
const BASELINE_LABEL: Record<string, string> = {
  mean_curve: "mean training curve (ignores the prompt)",
  knn5: "mean of the 5 nearest training prompts (embedding cosine)",
};

export interface ReportInput {
  dir: string;
  model: string;
  evaluation: Evaluation & {
    time: unknown;
    /** The full model on the validation prompts (eval-stage.ts onValidation). */
    t_star: {
      validation?: { n: number; mean: number; oracle_mean: number; spearman_vs_oracle: number };
    };
    /** The settled dead zone of the exported models (train-stage.ts applyDeadZone). */
    curve_dead_zone?: DeadZoneRecord;
  };
  settings: Record<string, unknown>;
  predicted: Partial<Record<Variant, Record<MetricName, Float32Array>>>;
  measured: ReadonlyMap<number, ReadonlyMap<number, MetricValues>>;
  texts: ReadonlyMap<number, string>;
  stepGrid: readonly number[];
  cost: SdCost;
  /** Side-by-side images of the first held-out prompts (gallery.svg); none: no gallery. */
  gallery?: readonly GalleryRow[];
  /** Side of the gallery's pictures in px (the generated image size). */
  imageSize?: number;
}

const f = (v: number, d = 4) => (Number.isFinite(v) ? v.toFixed(d) : "n/a");
const pm = (s: Stat, d = 4) => `${f(s.mean, d)} ± ${f(s.stderr, d)}`;

/** Eq. 9 read plainly: a difference counts only beyond two standard errors. */
function verdictOf(s: Stat): "better" | "worse" | "no significant difference" {
  if (s.mean - 2 * s.stderr > 0) return "better";
  if (s.mean + 2 * s.stderr < 0) return "worse";
  return "no significant difference";
}

function verdictLines(e: Evaluation, time: { saved_fraction: number }): string[] {
  const perMetric = METRIC_NAMES.map(
    (m) => `${LABEL[m]} ${verdictOf(e.relative_quality[m])} (${pm(e.relative_quality[m])})`,
  );
  const ceiling = METRIC_NAMES.map(
    (m) => `${LABEL[m]} ${f(e.allocation_ceiling.per_metric[m].relative_quality)}`,
  );
  const ref = e.savings_vs_defaults[String(e.reference_steps)];
  const a = e.allocation_mode;
  const allocate = a
    ? [
        `- Allocate mode vs UNIFORM at its mean steps (${f(a.mean_steps, 2)} vs ${a.uniform_steps}): ${METRIC_NAMES.map((m) => `${LABEL[m]} ${verdictOf(a.relative_quality[m])} (${pm(a.relative_quality[m])}, ${f(100 * a.fraction_realised[m], 0)}% of the ceiling ${f(a.ceiling[m])})`).join("; ")}.`,
        ...(a.by_metric
          ? [
              `- Each metric priced alone: ${METRIC_NAMES.flatMap((m) => {
                const b = a.by_metric?.[m];
                return b
                  ? [
                      `${LABEL[m]} ${pm(b.relative_quality[m])} at ${f(b.mean_steps, 2)} vs ${b.uniform_steps} steps, ${f(100 * b.fraction_realised[m], 0)}% of its ceiling`,
                    ]
                  : [];
              }).join("; ")}.`,
            ]
          : []),
      ]
    : [];
  return [
    "## Verdict",
    "",
    `- OURS vs UNIFORM at equal mean steps (${f(e.t_star.with_floor.mean, 2)} vs ${e.uniform_steps}; Eq. 9, ±2 standard errors): ${perMetric.join("; ")}.`,
    `- The most any allocation of the same mean steps could gain on the measured curves (allocation ceiling): ${ceiling.join(", ")}.`,
    ...allocate,
    `- t* against the oracle t* (the rule on the measured curves): Spearman ${f(e.t_star.spearman_vs_oracle, 3)}.`,
    `- Against REFERENCE (${e.reference_steps} steps): OURS spends ${f(100 * (ref ? ref.saved_fraction : Number.NaN), 1)}% less compute; seconds per image ${f(100 * time.saved_fraction, 1)}% less in this run (negative = more).`,
    "",
  ];
}

/** The allocate mode's section (shared/src/plateau/allocate.ts), when it was calibrated. */
function allocationLines(e: Evaluation): string[] {
  const a = e.allocation_mode;
  if (!a) return [];
  const c = a.calibration;
  return [
    "## Allocate mode: t(p) = argmax_t sum_m w_m q(p,t)/q(p,U) - λ t, against UNIFORM at its mean steps",
    "",
    `λ = ${c.lambda.toExponential(4)} per step, calibrated by bisection on ${c.calibration_prompts} validation prompts for a mean of ${f(c.target_mean_steps, 2)} steps (reached ${f(c.calibrated_mean_steps, 2)}); U = ${c.uniform_steps}; weights ${METRIC_NAMES.map((m) => `${LABEL[m]} ${f(c.weights[m], 3)}`).join(", ")}.`,
    `The bundle's default price is that one. Scored here: λ = ${a.price.lambda.toExponential(4)} (target ${f(a.price.target_mean_steps, 2)}, U = ${a.price.uniform_steps}); chosen as ${a.price.chosen_by}.`,
    `On the held-out prompts: mean ${f(a.mean_steps, 2)} steps (OURS ${f(a.ours_mean_steps, 2)}), range ${a.steps.min}-${a.steps.max}; UNIFORM ${a.uniform_steps}.`,
    "",
    "| metric | this run | interpolated curves | allocation ceiling | fraction realised |",
    "|---|---|---|---|---|",
    ...METRIC_NAMES.map(
      (m) =>
        `| ${LABEL[m]} | ${pm(a.relative_quality[m])} | ${pm(a.interpolated_relative_quality[m])} | ${f(a.ceiling[m])} | ${f(a.fraction_realised[m], 2)} |`,
    ),
    "",
    ...byMetricLines(a.by_metric),
    ...validationLines(a.validation),
  ];
}

/** Each metric priced alone: the objective whose knapsack is that metric's own ceiling. */
function byMetricLines(
  byMetric: NonNullable<Evaluation["allocation_mode"]>["by_metric"],
): string[] {
  if (!byMetric) return [];
  const rows = METRIC_NAMES.flatMap((m) => {
    const b = byMetric[m];
    return b
      ? [
          `| ${LABEL[m]} alone | ${b.price.target_mean_steps} | ${f(b.mean_steps, 2)} vs ${b.uniform_steps} | ${pm(b.relative_quality[m])} | ${f(b.ceiling[m])} | ${f(b.fraction_realised[m], 2)} |`,
        ]
      : [];
  });
  return [
    "Each metric priced alone (`objective: \"<metric>\"`, its own validation-calibrated price table, the entry matching OURS' spend); its gap to that metric's ceiling is the predictor's alone:",
    "",
    "| objective | table target | mean steps vs UNIFORM | that metric's Eq. 9 | its ceiling | fraction realised |",
    "|---|---|---|---|---|---|",
    ...rows,
    "",
  ];
}

/** The allocate mode on the validation prompts' measured curves (what its settings were chosen on). */
function validationLines(
  v: (AllocationDiagnosis & { weights_choice?: WeightChoice }) | undefined,
): string[] {
  if (!v) return [];
  const pct = (x: number) => `${f(100 * x, 0)}%`;
  const c = v.weights_choice;
  const chosen = c
    ? [
        `The weights were chosen on these prompts: of ${c.candidates} grid points (steps of ${f(c.grid_step, 2)}), the one whose smallest share of a ceiling is largest (${pct(c.min_share)}).`,
        "",
      ]
    : [];
  return [
    ...chosen,
    `On the ${v.n} validation prompts (measured curves; mean ${f(v.mean_steps, 2)} steps, UNIFORM ${v.uniform_steps}), share of each ceiling realised:`,
    "",
    "| metric | ceiling | this predictor | perfect predictor, same weights | this predictor, metric priced alone | perfect predictor, metric alone |",
    "|---|---|---|---|---|---|",
    ...METRIC_NAMES.map(
      (m) =>
        `| ${LABEL[m]} | ${f(v.per_metric[m].ceiling)} | ${pct(v.per_metric[m].fraction_realised)} (${pm(v.per_metric[m])}) | ${pct(v.perfect_predictor.per_metric[m].fraction_realised)} | ${pct(v.single_metric[m].predicted)} | ${pct(v.single_metric[m].perfect_predictor)} |`,
    ),
    "",
  ];
}

/** The dead zone the exported curves carry, and the validation numbers it was chosen by. */
function deadZoneLines(d: DeadZoneRecord | undefined): string[] {
  if (!d) return [];
  const deltas = METRIC_NAMES.map((m) => `${LABEL[m]} ${d.delta[m]}`).join(", ");
  const c = d.choice;
  if (!c)
    return [`Settled dead zone of the exported curves (model/curve-dead-zone.ts): δ ${deltas}.`];
  const at = (s: DeadZoneScore) =>
    `Spearman ${f(s.spearman, 3)}, mean t* ${f(s.mean_t_star, 2)} vs UNIFORM ${s.uniform_steps}, Eq. 9 z ${METRIC_NAMES.map((m) => `${LABEL[m]} ${f(s.z[m], 2)}`).join(" / ")}`;
  return [
    `Settled dead zone of the exported curves (model/curve-dead-zone.ts): δ ${deltas}, chosen on the ${c.n} validation prompts over ${c.candidates} grid points (largest min(ρ / 0.7, z / 2): ${f(c.score, 3)}): ${at(c)}; without it ${at(c.none)}.`,
  ];
}

function markdown(r: ReportInput): string {
  const e = r.evaluation;
  const time = e.time as {
    seconds_per_image: Record<string, Stat>;
    saved_fraction: number;
    generator: string;
  };
  const lines = [
    `# Evaluation: ${r.model}`,
    "",
    `Held-out prompts: ${e.n_test}. Quality source: ${e.quality_source}.`,
    "",
    `L-SNR = S/(S+N) (SPEC §3 revised, "${LSNR_DEFINITION}"): the share of smooth structure, lower is better; its quality q = 1 - L-SNR is the share of detail energy.`,
    "",
    ...verdictLines(e, time),
    "## Table 1: MAE of predicted vs measured curves (dense grid; sampled steps in parentheses)",
    "",
    "| model | L-SNR | D-SIM | I-CLIP |",
    "|---|---|---|---|",
    ...Object.entries(e.table1_mae_dense).map(
      ([v, mae]) =>
        `| ${v} | ${METRIC_NAMES.map((m) => `${f(mae[m])} (${f(e.table1_mae_sampled[v as Variant]?.[m] ?? Number.NaN)})`).join(" | ")} |`,
    ),
    ...Object.entries(e.table1_mae_baselines).map(
      ([name, mae]) =>
        `| reference: ${BASELINE_LABEL[name] ?? name} | ${METRIC_NAMES.map((m) => f(mae[m])).join(" | ")} |`,
    ),
    `| paper (full) | ${METRIC_NAMES.map((m) => PAPER.table1_mae_full[m]).join(" | ")} |`,
    "",
    "## Table 2: quality per TFLOP (mean ± standard error), q = 1-L-SNR (detail share), 1-D-SIM, I-CLIP",
    "",
    "| condition | steps | eta (TFLOPs) | (1-L-SNR)/eta | (1-D-SIM)/eta | I-CLIP/eta |",
    "|---|---|---|---|---|---|",
    `| OURS | t* mean ${f(e.t_star.with_floor.mean, 2)} | ${f(e.eta_tflops.ours.mean, 6)} | ${METRIC_NAMES.map((m) => pm(e.table2_quality_per_tflop.ours[m], 3)).join(" | ")} |`,
    `| UNIFORM | ${e.uniform_steps} | ${f(e.eta_tflops.uniform, 6)} | ${METRIC_NAMES.map((m) => pm(e.table2_quality_per_tflop.uniform[m], 3)).join(" | ")} |`,
    `| REFERENCE | ${e.reference_steps} | ${f(e.eta_tflops.reference, 6)} | ${METRIC_NAMES.map((m) => pm(e.table2_quality_per_tflop.reference[m], 3)).join(" | ")} |`,
    "",
    "## Relative quality, Eq. 9: q(t_OURS)/q(t_UNIFORM) - 1",
    "",
    `Allocation ceiling: the best allocation of the same mean steps (${e.allocation_ceiling.uniform_steps}) on the measured curves, each metric optimised on its own (an upper bound for any predictor).`,
    "",
    "| metric | this run | interpolated curves | allocation ceiling | fraction realised | paper |",
    "|---|---|---|---|---|---|",
    ...METRIC_NAMES.map(
      (m) =>
        `| ${LABEL[m]} | ${pm(e.relative_quality[m])} | ${pm(e.interpolated.relative_quality[m])} | ${f(e.allocation_ceiling.per_metric[m].relative_quality)} | ${f(e.allocation_ceiling.fraction_realised[m], 2)} | +${PAPER.relative_quality[m]} |`,
    ),
    "",
    ...allocationLines(e),
    `## Time (generator ${time.generator}, one run)`,
    "",
    `Seconds per image: OURS ${pm(time.seconds_per_image.ours, 3)}, UNIFORM ${pm(time.seconds_per_image.uniform, 3)}, REFERENCE (${e.reference_steps} steps) ${pm(time.seconds_per_image.reference, 3)}; OURS saves ${f(100 * time.saved_fraction, 1)}% (paper: ${PAPER.seconds_per_image.ours} vs ${PAPER.seconds_per_image.reference} s on an ${PAPER.seconds_per_image.hardware}).`,
    "",
    "## Savings against fixed step defaults (compute)",
    "",
    "| default steps | eta (TFLOPs) | OURS saves |",
    "|---|---|---|",
    ...Object.values(e.savings_vs_defaults).map(
      (s) => `| ${s.steps} | ${f(s.eta_tflops, 6)} | ${f(100 * s.saved_fraction, 1)}% |`,
    ),
    "",
    "## t* (SPEC §5)",
    "",
    `With the eps floor: mean ${f(e.t_star.with_floor.mean, 2)}, median ${e.t_star.with_floor.median}, range ${e.t_star.with_floor.min}-${e.t_star.with_floor.max}.`,
    `Spearman correlation of t* with the oracle t*: ${f(e.t_star.spearman_vs_oracle, 3)}.`,
    ...(e.t_star.validation
      ? [
          `On the ${e.t_star.validation.n} validation prompts (training split; what validation-only choices were made on): Spearman ${f(e.t_star.validation.spearman_vs_oracle, 3)}, mean t* ${f(e.t_star.validation.mean, 2)} against the oracle's ${f(e.t_star.validation.oracle_mean, 2)}.`,
        ]
      : []),
    ...deadZoneLines(e.curve_dead_zone),
    `Without the floor: mean ${f(e.t_star.without_floor.mean, 2)}, median ${e.t_star.without_floor.median}, range ${e.t_star.without_floor.min}-${e.t_star.without_floor.max}.`,
    `Oracle (the same rule on the measured curves, i.e. a perfect predictor): mean ${f(e.t_star.oracle_measured_curves.mean, 2)}, median ${e.t_star.oracle_measured_curves.median}, range ${e.t_star.oracle_measured_curves.min}-${e.t_star.oracle_measured_curves.max}; UNIFORM ${e.oracle.uniform_steps}; relative quality (interpolated curves) ${METRIC_NAMES.map((m) => `${LABEL[m]} ${pm(e.oracle.relative_quality[m])}`).join(", ")}; allocation ceiling at ${e.allocation_ceiling.oracle_uniform_steps} steps ${METRIC_NAMES.map((m) => `${LABEL[m]} ${f(e.allocation_ceiling.oracle_per_metric[m].relative_quality)}`).join(", ")}.`,
    "",
    "## Settings",
    "",
    "```json",
    JSON.stringify(r.settings, null, 1),
    "```",
    "",
    "Plots: curves-lsnr.svg, curves-dsim.svg, curves-iclip.svg, t-star-histogram.svg, t-star-vs-oracle.svg, quality-vs-compute.svg.",
    "",
    ...(r.gallery?.length
      ? [
          "## Images: OURS, UNIFORM and REFERENCE side by side",
          "",
          `The first ${r.gallery.length} held-out prompts, seed 0, each generated at its condition's exact step count (the number under each picture).`,
          "",
          "![held-out prompts under each budget](gallery.svg)",
          "",
        ]
      : []),
  ];
  return lines.join("\n");
}

function plots(r: ReportInput): Record<string, string> {
  const e = r.evaluation;
  const ids = e.t_star.per_prompt.map((p) => p.prompt_id);
  const sample = ids.slice(0, 3);
  const steps = Array.from({ length: DENSE_STEPS }, (_, i) => i + 1);
  const out: Record<string, string> = {};
  for (const m of METRIC_NAMES) {
    const series = sample.flatMap((id, k) => {
      const i = ids.indexOf(id);
      const perStep = r.measured.get(id) as ReadonlyMap<number, MetricValues>;
      const pred =
        r.predicted.full?.[m].subarray(i * DENSE_STEPS, (i + 1) * DENSE_STEPS) ??
        new Float32Array(DENSE_STEPS);
      const label = (r.texts.get(id) ?? `${id}`).slice(0, 18);
      const color = ["#1f77b4", "#d62728", "#2ca02c"][k];
      return [
        { label: `${label} pred`, x: steps, y: [...pred], color },
        {
          label: `${label} meas`,
          x: r.stepGrid,
          y: r.stepGrid.map((t) => (perStep.get(t) as MetricValues)[m]),
          color,
          dashed: true,
        },
      ];
    });
    out[`curves-${m}.svg`] = lineChart(series, {
      title: `${LABEL[m]}: predicted (full model) vs measured`,
      xLabel: "denoising steps t (log)",
      yLabel: LABEL[m],
      xLog: true,
    });
  }
  out["t-star-histogram.svg"] = histogram(
    e.t_star.per_prompt.map((p) => p.t_star),
    { title: "t* on held-out prompts (with eps floor)", xLabel: "t*", yLabel: "prompts" },
  );
  // How far the predictor's budgets are from the rule applied to the measured curves.
  out["t-star-vs-oracle.svg"] = lineChart(
    [
      {
        label: "held-out prompts",
        x: e.t_star.per_prompt.map((p) => p.t_star_oracle),
        y: e.t_star.per_prompt.map((p) => p.t_star),
        color: "#1f77b4",
        points: true,
      },
      {
        label: "predicted = oracle",
        x: [1, DENSE_STEPS],
        y: [1, DENSE_STEPS],
        color: "#888888",
        dashed: true,
      },
    ],
    {
      title: "t* from predicted curves vs from measured curves (oracle)",
      xLabel: "oracle t* (log)",
      yLabel: "predicted t*",
      xLog: true,
    },
  );
  const gridEta = r.stepGrid.map((t) => generationTflops(r.cost, t));
  const series = METRIC_NAMES.flatMap((m, k) => {
    const color = ["#1f77b4", "#d62728", "#2ca02c"][k];
    const meanQ = r.stepGrid.map((t) => {
      let s = 0;
      for (const id of ids)
        s += quality(
          m,
          measuredDense(r.measured.get(id) as ReadonlyMap<number, MetricValues>, r.stepGrid, m)[
            t - 1
          ],
        );
      return s / ids.length;
    });
    return [
      { label: `${LABEL[m]} q, fixed t`, x: gridEta, y: meanQ, color },
      {
        label: `${LABEL[m]} q, OURS`,
        x: e.t_star.per_prompt.map((p) => generationTflops(r.cost, p.t_star)),
        y: e.t_star.per_prompt.map((p) =>
          quality(
            m,
            measuredDense(
              r.measured.get(p.prompt_id) as ReadonlyMap<number, MetricValues>,
              r.stepGrid,
              m,
            )[p.t_star - 1],
          ),
        ),
        color,
        points: true,
      },
    ];
  });
  out["quality-vs-compute.svg"] = lineChart(series, {
    title: "Quality vs compute (held-out mean; OURS per prompt)",
    xLabel: "TFLOPs per image (log)",
    yLabel: "q",
    xLog: true,
  });
  return out;
}

export async function writeReport(r: ReportInput): Promise<string[]> {
  await mkdir(r.dir, { recursive: true });
  const { relative_quality, ...rest } = r.evaluation;
  const json = {
    model: r.model,
    created_at: new Date().toISOString(),
    lsnr_definition: LSNR_DEFINITION,
    relative_quality,
    ...rest,
    settings: r.settings,
    cost_flops: r.cost,
    paper: PAPER,
  };
  const files: Record<string, string> = {
    "evaluation.json": `${JSON.stringify(json, null, 1)}\n`,
    "evaluation.md": markdown(r),
    ...plots(r),
    ...(r.gallery?.length ? { "gallery.svg": gallerySvg(r.gallery, r.imageSize ?? 128) } : {}),
  };
  for (const [name, body] of Object.entries(files)) await writeFile(join(r.dir, name), body);
  return Object.keys(files);
}
