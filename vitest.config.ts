import { join } from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { fakeOutbound } from "./test/workerd/fake-gpu-workers";
import { FIXTURE_ROOT } from "./test/workerd/fixture-root";

const edgeMigrations = await readD1Migrations(join(import.meta.dirname, "edge/migrations"));

// One command runs every suite; each runtime is a project (hono's runtime-tests pattern).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          environment: "node",
          include: [
            "shared/src/**/*.test.ts",
            "inference/src/**/*.test.ts",
            "world/src/**/*.test.ts",
            "gpu-worker/src/**/*.test.ts",
            "training/src/**/*.test.ts",
            "test/golden/**/*.test.ts",
            "test/integration/**/*.test.ts",
          ],
          testTimeout: 60_000,
        },
      },
      {
        // The edge inside workerd (vitest-pool-workers): real D1 with the drizzle migrations,
        // R2, the dispatcher Durable Object; fake GPU workers behind the outbound service.
        plugins: [
          cloudflareTest({
            main: "./edge/src/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: edgeMigrations,
                ADMIN_TOKEN: "test-admin-token",
                WORKER_TOKEN: "test-worker-token",
                HEARTBEAT_INTERVAL_S: "1",
                JOB_ATTEMPT_TIMEOUT_S: "5",
              },
              outboundService: fakeOutbound(FIXTURE_ROOT),
            },
          }),
        ],
        test: {
          name: "workerd",
          include: ["test/workerd/**/*.test.ts"],
          globalSetup: ["test/workerd/global-setup.ts"],
          setupFiles: ["test/workerd/apply-migrations.ts"],
          testTimeout: 60_000,
        },
      },
    ],
  },
});
