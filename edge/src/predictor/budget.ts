/**
 * POST /v1/budget's computation: prompt -> p̄ -> dense curves -> t* (SPEC §5 plateau rule with
 * the bundle's weights and eps), or, when the caller gives `quality`, the quality-target rule, or
 * with `mode: "allocate"` the price-per-step allocation calibrated in the bundle (for the
 * bundle's own mean-steps target, or the request's `mean_steps` from its price table; for the
 * bundle's weighted metrics or, with `objective`, one metric alone).
 * The curves come from the budget cache when this bundle version has seen the prompt.
 */

import { ValidationError } from "@budgetfusion/shared/errors";
import { PAPER_REFERENCE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import {
  type AllocationPrice,
  allocateSteps,
  tabledPrice,
} from "@budgetfusion/shared/plateau/allocate";
import { stepsForQuality } from "@budgetfusion/shared/plateau/quality-target";
import { stepBudget } from "@budgetfusion/shared/plateau/step-budget";
import type {
  BudgetMode,
  BudgetRequest,
  BudgetResponse,
} from "@budgetfusion/shared/schemas/edge-api";
import type { BudgetCacheApiMode } from "../config";
import type { EdgeDb } from "../db/client";
import { budgetCacheKey, type CacheTier, cachedCurves, usesCacheApi } from "./budget-cache";
import { embedPrompt, storedEmbedding } from "./embed-prompt";
import type { LoadedPredictor } from "./load-predictor";
import { type PhaseTimer, timed, untimed } from "./phase-timer";
import { predictCurves } from "./predict-curves";

export interface BudgetComputation {
  response: BudgetResponse;
  /** Where the curves came from (budget-cache.ts). */
  cache: CacheTier;
}

export interface BudgetOptions {
  /** Runs work after the response (the cache writes). */
  defer: (p: Promise<unknown>) => void;
  time?: PhaseTimer;
  cacheApi: BudgetCacheApiMode;
}

/**
 * The allocate mode's price: for the weighted objective the request's `mean_steps` from the
 * table, else the bundle's own; for one metric alone that metric's table, at `mean_steps` or the
 * bundle's own target rounded.
 */
function allocationPrice(
  manifest: LoadedPredictor["manifest"],
  version: string,
  req: BudgetRequest,
): AllocationPrice & { target_mean_steps: number } {
  const objective = req.objective ?? "weighted";
  if (objective !== "weighted") {
    const table = manifest.allocation_prices_by_metric?.[objective];
    if (!table)
      throw new ValidationError(
        `objective: predictor ${version} has no prices for ${objective} alone (its manifest lacks \`allocation_prices_by_metric\`); omit objective for the bundle's weighted one`,
        { field: "objective" },
      );
    const target =
      req.mean_steps ?? Math.round(manifest.allocation?.target_mean_steps ?? Number.NaN);
    if (!Number.isInteger(target))
      throw new ValidationError(
        `mean_steps: predictor ${version} has no default mean-steps target (its manifest lacks \`allocation\`); give mean_steps with objective ${objective}`,
        { field: "mean_steps" },
      );
    return tabledPrice(table, target);
  }
  if (req.mean_steps !== undefined) {
    if (!manifest.allocation_prices)
      throw new ValidationError(
        `mean_steps: predictor ${version} has no price table (its manifest lacks \`allocation_prices\`); omit mean_steps for its own target${manifest.allocation ? ` (${manifest.allocation.target_mean_steps.toFixed(2)} mean steps)` : ""}`,
        { field: "mean_steps" },
      );
    return tabledPrice(manifest.allocation_prices, req.mean_steps);
  }
  if (!manifest.allocation)
    throw new ValidationError(
      `mode: predictor ${version} has no allocate calibration (its manifest lacks \`allocation\`); use mode "plateau" or "quality"`,
      { field: "mode" },
    );
  return manifest.allocation;
}

export async function computeBudget(
  db: EdgeDb,
  predictor: LoadedPredictor,
  version: string,
  req: BudgetRequest,
  { defer, time = untimed, cacheApi }: BudgetOptions,
): Promise<BudgetComputation> {
  const { manifest } = predictor;
  const mode: BudgetMode =
    req.mode ??
    (req.quality !== undefined
      ? "quality"
      : req.mean_steps !== undefined || req.objective !== undefined
        ? "allocate"
        : "plateau");
  // Refused before any embedding or inference is spent on it.
  const allocation = mode === "allocate" ? allocationPrice(manifest, version, req) : undefined;
  const { curves, tier } = await cachedCurves(
    await budgetCacheKey(version, req.prompt),
    {
      prefetch: () => storedEmbedding(db, predictor, req.prompt),
      compute: async (stored) => {
        const embedding = await timed(time, "embed", () =>
          embedPrompt(db, predictor, req.prompt, stored, defer),
        );
        return timed(time, "predict", () => predictCurves(predictor, embedding));
      },
    },
    { shared: usesCacheApi(cacheApi, predictor), defer, time },
  );
  const bounds = { minSteps: req.min_steps, maxSteps: req.max_steps };
  const plateau = stepBudget(curves, {
    ...bounds,
    weights: manifest.plateau.weights,
    eps: manifest.plateau.eps,
  });
  const result =
    mode === "quality"
      ? stepsForQuality(curves, req.quality ?? 1, bounds)
      : allocation
        ? // per_metric stays the plateau rule's t*_m: what each predicted curve says on its own.
          { steps: allocateSteps(curves, allocation, bounds), perMetric: plateau.perMetric }
        : plateau;
  const response: BudgetResponse = {
    steps: result.steps,
    per_metric: result.perMetric,
    reference_steps: PAPER_REFERENCE_STEPS,
    savings_vs_reference: 1 - result.steps / PAPER_REFERENCE_STEPS,
    predictor_version: version,
    predictor_form: predictor.form,
    mode,
    ...(allocation
      ? {
          allocation: {
            lambda: allocation.lambda,
            uniform_steps: allocation.uniform_steps,
            target_mean_steps: allocation.target_mean_steps,
            objective: req.objective ?? "weighted",
          },
        }
      : {}),
  };
  if (req.include_curves === true) {
    response.curves = {
      steps: Array.from({ length: manifest.dense_steps }, (_, i) => i + 1),
      lsnr: Array.from(curves.lsnr),
      dsim: Array.from(curves.dsim),
      iclip: Array.from(curves.iclip),
    };
  }
  return { response, cache: tier };
}
