/** Bindings the workerd test project adds to the edge's own (vitest.config.ts). */
import type { D1Migration } from "cloudflare:test";
import type { EdgeBindings } from "@budgetfusion/edge/env";

declare global {
  namespace Cloudflare {
    interface Env extends EdgeBindings {
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
