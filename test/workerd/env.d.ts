/** Bindings the workerd test project adds to the edge's generated Env (vitest.config.ts). */
import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** An optional secret of the edge (job webhooks), so not in the generated Env. */
      WEBHOOK_SECRET: string;
    }
  }
}
