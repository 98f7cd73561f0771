/**
 * Assembles the edge app: request context, route groups, the OpenAPI document, one onError and
 * one notFound. Handlers live in routes/; nothing here computes anything.
 */
import { BudgetFusionError, NotFoundError } from "@budgetfusion/shared/errors";
import { frameworkError } from "@budgetfusion/shared/schemas/error-body";
import { validationError } from "@budgetfusion/shared/schemas/zod-issues";
import { OpenAPIHono } from "@hono/zod-openapi";
import { except } from "hono/combine";
import { HTTPException } from "hono/http-exception";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId } from "hono/request-id";
import { timing } from "hono/timing";
import type { AppEnv, EdgeApp } from "./app-env";
import { errorResponse, refuseMethod } from "./http-errors";
import { consumerAuth } from "./keys/consumer-auth";
import { rateLimit } from "./limits/rate-limit";
import { requestContext } from "./middleware/context";
import { registerAdminRoutes } from "./routes/admin";
import { registerBudgetRoutes } from "./routes/budget";
import { registerCanaryRoutes } from "./routes/canary";
import { registerConsumerSecurity } from "./routes/consumer-openapi";
import { registerHealthRoutes } from "./routes/health";
import { registerJobRoutes } from "./routes/jobs";
import { registerKeyRoutes } from "./routes/keys";
import { registerMetricsRoute } from "./routes/metrics";
import { registerOpsPage } from "./routes/ops-page";
import { registerPage } from "./routes/page";
import { registerUsageRoutes } from "./routes/usage";
import { registerWorkerCredentialRoutes } from "./routes/worker-credentials";
import { registerWorkerRoutes } from "./routes/workers";

/** Longest client-chosen X-Request-Id kept; longer or odd ones are replaced by a fresh UUID. */
const MAX_REQUEST_ID_CHARS = 64;

export function createApp(): EdgeApp {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error.issues);
    },
  });
  app.use("*", requestId({ limitLength: MAX_REQUEST_ID_CHARS }));
  // A known path asked with another method is a 405 naming the allowed ones, not a 404.
  app.use("*", methodNotAllowed({ app, onMethodNotAllowed: refuseMethod }));
  app.use("*", requestContext);
  // Consumer routes need an API key (GPU workers have their own token); rates are per key.
  // Budgets' Server-Timing total covers the key check and the rate limit too.
  app.use("/v1/budget", timing({ crossOrigin: true }));
  app.use("/v1/*", except("/v1/workers/*", consumerAuth));
  app.use("/v1/budget", rateLimit("budgets"));
  app.use("/v1/generate", rateLimit("generations"));
  registerConsumerSecurity(app);
  registerHealthRoutes(app);
  registerBudgetRoutes(app);
  registerMetricsRoute(app);
  registerJobRoutes(app);
  registerWorkerRoutes(app);
  // Admin auth is installed here, so every group with admin routes comes after it (usage too:
  // /admin/usage registered before it would answer without a token).
  registerAdminRoutes(app);
  registerUsageRoutes(app);
  registerKeyRoutes(app);
  registerWorkerCredentialRoutes(app);
  registerCanaryRoutes(app);
  registerPage(app);
  registerOpsPage(app);
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "BudgetFusion edge API",
      version: "1.0.0",
      description:
        "Prompt-adaptive denoising-step budgets (t*) and generation routed to GPU workers.",
    },
  });
  app.notFound((c) =>
    errorResponse(c, new NotFoundError(`no route ${c.req.method} ${c.req.path}`)),
  );
  app.onError((err, c) => {
    // bearerAuth's refusals arrive finished: our error body plus its WWW-Authenticate challenge.
    if (err instanceof HTTPException && err.res !== undefined) return err.getResponse();
    const domain =
      err instanceof BudgetFusionError
        ? err
        : err instanceof HTTPException
          ? frameworkError(err.status, err.message, c.req.header("content-type"))
          : new BudgetFusionError("internal_error", "internal error");
    const res = errorResponse(c, domain);
    if (res.status === 500) console.error(`[${c.var.requestId}]`, err);
    return res;
  });
  return app;
}
