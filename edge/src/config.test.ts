import { ConfigError } from "@budgetfusion/shared/errors";
import { describe, expect, it } from "vitest";
import { edgeConfig } from "./config";

const env = (vars: Record<string, string>) => vars as unknown as Env;

describe("edgeConfig BUDGET_CACHE_API", () => {
  it("defaults to auto when absent or empty", () => {
    expect(edgeConfig(env({})).budgetCacheApi).toBe("auto");
    expect(edgeConfig(env({ BUDGET_CACHE_API: "" })).budgetCacheApi).toBe("auto");
  });

  it("takes always and never", () => {
    expect(edgeConfig(env({ BUDGET_CACHE_API: "always" })).budgetCacheApi).toBe("always");
    expect(edgeConfig(env({ BUDGET_CACHE_API: "never" })).budgetCacheApi).toBe("never");
  });

  it("refuses anything else, naming the variable", () => {
    let error: unknown;
    try {
      edgeConfig(env({ BUDGET_CACHE_API: "sometimes" }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('BUDGET_CACHE_API must be "auto"');
    expect((error as ConfigError).field).toBe("BUDGET_CACHE_API");
  });
});
