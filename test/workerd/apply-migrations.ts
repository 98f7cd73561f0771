/** setupFiles of the workerd project: apply edge/migrations (drizzle-kit output) to the test D1. */
import { applyD1Migrations, env } from "cloudflare:test";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
