/**
 * The budget a prompt is served with (POST /v1/budget and steps "auto"): the active bundle's,
 * or, while a canary runs, the candidate's for the canary's share of prompts
 * (canary-split.ts). For those prompts the active bundle's budget is computed too, after the
 * response, and both are recorded for GET /admin/bundles/:v/canary; every budget computed while
 * the canary runs is counted, so the observed share can be checked against the setting.
 */
import type { BudgetRequest, BudgetResponse } from "@budgetfusion/shared/schemas/edge-api";
import type { BudgetCacheApiMode } from "../config";
import type { EdgeDb } from "../db/client";
import { countTraffic, insertSample } from "../db/queries/canaries";
import { predictorFor } from "../predictor/active-predictor";
import { computeBudget } from "../predictor/budget";
import type { CacheTier } from "../predictor/budget-cache";
import type { LoadedPredictor } from "../predictor/load-predictor";
import { type PhaseTimer, untimed } from "../predictor/phase-timer";
import { promptBucket, promptDigest } from "./canary-split";
import { currentCanary } from "./canary-state";

export interface ServedBudget {
  budget: BudgetResponse;
  /** The bundle that produced it (its manifest drives generation settings). */
  predictor: LoadedPredictor;
  /** Where the served bundle's curves came from (the budget cache's tier, or a miss). */
  cache: CacheTier;
}

export interface BudgetContext {
  db: EdgeDb;
  blobs: R2Bucket;
  /** Runs work after the response (waitUntil). */
  defer: (what: string, work: Promise<unknown>) => void;
  /** Times the served budget's phases (Server-Timing); the canary's after-response work is not. */
  time?: PhaseTimer;
  /** When the budget cache uses the Cache API (BUDGET_CACHE_API). */
  cacheApi: BudgetCacheApiMode;
}

export async function serveBudget(
  ctx: BudgetContext,
  active: { version: string; predictor: LoadedPredictor },
  req: BudgetRequest,
): Promise<ServedBudget> {
  const { db } = ctx;
  const fillCache = (work: Promise<unknown>) => ctx.defer("budget and embedding cache fill", work);
  const compute = (
    predictor: LoadedPredictor,
    version: string,
    r: BudgetRequest,
    time = ctx.time,
  ) => computeBudget(db, predictor, version, r, { defer: fillCache, time, cacheApi: ctx.cacheApi });
  const canary = await currentCanary(db);
  if (canary === undefined || canary.version === active.version) {
    const { response, cache } = await compute(active.predictor, active.version, req);
    return { budget: response, predictor: active.predictor, cache };
  }
  const served = (await promptBucket(canary.version, req.prompt)) < canary.share;
  if (!served) {
    ctx.defer("canary traffic count", countTraffic(db, canary.id, false));
    const { response, cache } = await compute(active.predictor, active.version, req);
    return { budget: response, predictor: active.predictor, cache };
  }
  const candidate = await predictorFor(db, ctx.blobs, canary.version);
  const { response: budget, cache } = await compute(candidate, canary.version, req);
  ctx.defer(
    "canary sample",
    (async () => {
      const { response: stable } = await compute(
        active.predictor,
        active.version,
        { ...req, include_curves: false },
        untimed,
      );
      await insertSample(db, {
        canaryId: canary.id,
        promptSha256: await promptDigest(req.prompt),
        stableVersion: active.version,
        canarySteps: budget.steps,
        stableSteps: stable.steps,
        createdAt: Date.now(),
      });
      await countTraffic(db, canary.id, true);
    })(),
  );
  return { budget, predictor: candidate, cache };
}
