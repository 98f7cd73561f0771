/**
 * POST /v1/budget's computation: prompt -> p̄ -> dense curves -> t* (SPEC §5 plateau rule with
 * the bundle's weights and eps) or, when the caller gives `quality`, the quality-target rule.
 * The curves come from the budget cache when this bundle version has seen the prompt.
 */
import { PAPER_REFERENCE_STEPS } from "@budgetfusion/shared/grid/step-grid";
import { stepsForQuality } from "@budgetfusion/shared/plateau/quality-target";
import { stepBudget } from "@budgetfusion/shared/plateau/step-budget";
import type { BudgetRequest, BudgetResponse } from "@budgetfusion/shared/schemas/edge-api";
import type { EdgeDb } from "../db/client";
import { budgetCacheKey, type CacheTier, cachedCurves } from "./budget-cache";
import { embedPrompt } from "./embed-prompt";
import type { LoadedPredictor } from "./load-predictor";
import { predictCurves } from "./predict-curves";

export interface BudgetComputation {
  response: BudgetResponse;
  /** Where the curves came from (budget-cache.ts). */
  cache: CacheTier;
}

export async function computeBudget(
  db: EdgeDb,
  predictor: LoadedPredictor,
  version: string,
  req: BudgetRequest,
  defer: (p: Promise<unknown>) => void,
): Promise<BudgetComputation> {
  const { manifest } = predictor;
  const { curves, tier } = await cachedCurves(
    await budgetCacheKey(version, req.prompt),
    async () => predictCurves(predictor, await embedPrompt(db, predictor, req.prompt)),
    defer,
  );
  const bounds = { minSteps: req.min_steps, maxSteps: req.max_steps };
  const result =
    req.quality === undefined
      ? stepBudget(curves, {
          ...bounds,
          weights: manifest.plateau.weights,
          eps: manifest.plateau.eps,
        })
      : stepsForQuality(curves, req.quality, bounds);
  const response: BudgetResponse = {
    steps: result.steps,
    per_metric: result.perMetric,
    reference_steps: PAPER_REFERENCE_STEPS,
    savings_vs_reference: 1 - result.steps / PAPER_REFERENCE_STEPS,
    predictor_version: version,
    predictor_form: predictor.form,
    mode: req.quality === undefined ? "plateau" : "quality",
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
