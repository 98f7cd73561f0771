/** Pieces every route group uses: JSON error responses for OpenAPI and the active predictor. */
import { BudgetFusionError } from "@budgetfusion/shared/errors";
import { errorBodySchema } from "@budgetfusion/shared/schemas/error-body";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { currentVersion, predictorFor } from "../predictor/active-predictor";

export const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: errorBodySchema } },
});

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

/** Work to finish after the response (ctx.waitUntil); left to run unawaited where there is no ctx. */
export function deferTo(c: Context<AppEnv>): (p: Promise<unknown>) => void {
  try {
    const ctx = c.executionCtx;
    return (p) => ctx.waitUntil(p);
  } catch {
    return (p) => void p;
  }
}
