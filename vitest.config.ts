import { defineConfig } from "vitest/config";

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
            "gpu-worker/src/**/*.test.ts",
            "training/src/**/*.test.ts",
            "test/golden/**/*.test.ts",
            "test/integration/**/*.test.ts",
          ],
          testTimeout: 60_000,
        },
      },
    ],
  },
});
