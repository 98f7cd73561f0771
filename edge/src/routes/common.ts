/** Pieces every route group uses: JSON error responses for OpenAPI and the active predictor. */
import { BudgetFusionError } from "@budgetfusion/shared/errors";
import { errorBodySchema } from "@budgetfusion/shared/schemas/error-body";
import type { Context } from "hono";
import { endTime, startTime } from "hono/timing";
import type { AppEnv } from "../app-env";
import type { BudgetContext } from "../canary/serve-budget";
import { afterResponse } from "../middleware/after-response";
import { currentVersion, predictorFor } from "../predictor/active-predictor";

export const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: errorBodySchema } },
});

/** A JSON response of a route's OpenAPI definition. */
export const jsonResponse = <T>(description: string, schema: T) => ({
  description,
  content: { "application/json": { schema } },
});

/** The admin routes' security requirement (the scheme routes/admin.ts registers). */
export const ADMIN_SECURITY = [{ adminToken: [] }];

export const jsonBody = <T>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

/** The active predictor, or 503 not_ready when no version was ever activated. */
export async function activePredictor(c: Context<AppEnv>) {
  const version = await currentVersion(c.var.db);
  if (version === undefined) {
    throw new BudgetFusionError("not_ready", "no predictor version is active", {
      field: "predictor_version",
    });
  }
  return { version, predictor: await predictorFor(c.var.db, c.env.BLOBS, version) };
}

/** What serveBudget needs from a request: D1, R2, and work after the response. */
export function budgetContext(c: Context<AppEnv>): BudgetContext {
  return {
    db: c.var.db,
    blobs: c.env.BLOBS,
    defer: (what, work) => afterResponse(c, what, work),
    cacheApi: c.var.config.budgetCacheApi,
    // Routes without hono's timing middleware (POST /v1/generate) time nothing.
    time: (phase) => {
      if (c.var.metric === undefined) return () => undefined;
      startTime(c, phase);
      return () => endTime(c, phase);
    },
  };
}
