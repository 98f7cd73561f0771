/**
 * OpenAPI pieces of the consumer routes: the two ways to present an API key, and the 401/429
 * answers every keyed route can give (keys/consumer-auth.ts, limits/).
 */
import type { EdgeApp } from "../app-env";
import { errorResponse } from "./common";

/** Either scheme will do (OpenAPI: alternatives are separate entries). */
export const CONSUMER_SECURITY: Record<string, string[]>[] = [{ apiKey: [] }, { apiKeyHeader: [] }];

export const unauthorized = errorResponse(
  "No API key (when API_KEYS is required), or an unknown or revoked one; " +
    'WWW-Authenticate: Bearer realm="api"',
);

/** 429 of a rate-limited route; `limits` are the names error.details.limit can take. */
export const rateLimited = (...limits: string[]) =>
  errorResponse(
    `rate_limited: past this key's ${limits.join(" or ")} (error.details.limit names it, ` +
      "details.limit_value gives it); Retry-After says when to try again",
  );

export function registerConsumerSecurity(app: EdgeApp) {
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "Consumer API key (POST /admin/keys): Authorization: Bearer bf_...",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKeyHeader", {
    type: "apiKey",
    in: "header",
    name: "x-api-key",
    description: "The same key in the x-api-key header",
  });
}
