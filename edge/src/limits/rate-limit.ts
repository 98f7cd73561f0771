/**
 * Per-key request rates on Cloudflare's rate-limiting bindings (wrangler.toml `[[ratelimits]]`,
 * emulated by wrangler dev and the test pool): budgets and generations are counted separately,
 * on the bindings of the key's plan, keyed by the key's id. Past the limit: 429 `rate_limited`
 * naming the limit, with Retry-After. The binding does not say when its window reopens; its
 * period is the longest it can take, so that is the Retry-After.
 */
import { ConfigError, RateLimitedError } from "@budgetfusion/shared/errors";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { LIMIT_NAMES, type LimitedKind, PLANS } from "../keys/plans";

export function rateLimit(kind: LimitedKind) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const consumer = c.var.consumer;
    if (consumer === undefined || consumer.plan === null) return next();
    const plan = PLANS[consumer.plan];
    const { limit, binding } = plan.rate[kind];
    // Typed as bound, but a binding missing from wrangler.toml is absent at run time.
    const limiter: RateLimit | undefined = c.env[binding];
    if (limiter === undefined) {
      throw new ConfigError(`rate-limiting binding ${binding} is not configured`, {
        field: binding,
      });
    }
    const { success } = await limiter.limit({ key: consumer.keyId });
    if (!success) {
      const name = LIMIT_NAMES[kind];
      throw new RateLimitedError(
        name,
        `${name} exceeded: plan "${consumer.plan}" allows ${limit} ${kind} per ${plan.periodS} s`,
        plan.periodS,
        { limit_value: limit, period_s: plan.periodS, plan: consumer.plan },
      );
    }
    return next();
  });
}
