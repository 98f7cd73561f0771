/**
 * Assembles the edge app: request context, route groups, the OpenAPI document, one onError and
 * one notFound. Handlers live in routes/; nothing here computes anything.
 */
import { BudgetFusionError, ValidationError } from "@budgetfusion/shared/errors";
import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import type { AppEnv, EdgeApp } from "./app-env";
import { errorBody, errorHeaders, statusFor } from "./http-errors";
import { requestContext } from "./middleware/context";
import { registerAdminRoutes } from "./routes/admin";
import { registerBudgetRoutes } from "./routes/budget";
import { registerHealthRoutes } from "./routes/health";
import { registerJobRoutes } from "./routes/jobs";
import { registerPage } from "./routes/page";
import { registerWorkerRoutes } from "./routes/workers";
import { validationErrorFrom } from "./validation";

function toDomainError(err: unknown): BudgetFusionError {
  if (err instanceof BudgetFusionError) return err;
  if (err instanceof HTTPException) {
    // Hono's own boundary failures (malformed JSON, body too large) are caller errors.
    if (err.status === 400) return new ValidationError(err.message, { field: "body" });
    if (err.status === 413) return new BudgetFusionError("payload_too_large", err.message);
    return new BudgetFusionError(
      err.status === 401 ? "unauthorized" : "invalid_request",
      err.message,
    );
  }
  return new BudgetFusionError("internal_error", "internal error");
}

export function createApp(): EdgeApp {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        throw validationErrorFrom(result.error.issues, result.target);
      }
      return undefined;
    },
  });
  app.use("*", requestContext);
  registerHealthRoutes(app);
  registerBudgetRoutes(app);
  registerJobRoutes(app);
  registerWorkerRoutes(app);
  registerAdminRoutes(app);
  registerPage(app);
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "BudgetFusion edge API",
      version: "1.0.0",
      description:
        "Prompt-adaptive denoising-step budgets (t*) and generation routed to GPU workers.",
    },
  });
  app.notFound((c) => {
    const requestId = c.get("requestId") ?? crypto.randomUUID();
    const err = new BudgetFusionError("not_found", `no route ${c.req.method} ${c.req.path}`);
    return c.json(errorBody(err, requestId), 404);
  });
  app.onError((err, c) => {
    const requestId = c.get("requestId") ?? crypto.randomUUID();
    const domain = toDomainError(err);
    const status = statusFor(domain.code);
    if (status === 500) console.error(`[${requestId}]`, err);
    return c.json(errorBody(domain, requestId), status, errorHeaders(domain));
  });
  return app;
}
