/** drizzle-kit: schema -> SQL migrations in edge/migrations (applied by wrangler and the test pool). */
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
  casing: "snake_case",
});
