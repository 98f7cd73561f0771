import { join } from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { configDefaults, defineConfig } from "vitest/config";
import { fakeOutbound } from "./test/workerd/fake-gpu-workers";
import { FIXTURE_ROOT } from "./test/workerd/fixture-root";

const edgeMigrations = await readD1Migrations(join(import.meta.dirname, "edge/migrations"));

// One command runs every suite; each kind of test is a project (hono's runtime-tests pattern),
// also run alone with `npm run test:<project>`. A test file's project is named by its folder
// under test/ or by its name beside the code it tests (README.md, "Tests"):
//   unit          any other *.test.ts: pure in-process code (temp files at most)
//   golden        test/golden/, *.golden.test.ts: parity with the ../shared/fixtures references
//   integration   test/integration/, *.integration.test.ts: in-process apps, real ONNX models
//   workerd       test/workerd/, *.workerd.test.ts: the edge inside workerd
//   e2e           test/e2e/, *.e2e.test.ts: starts processes (wrangler dev, the worker server,
//                 Chromium, the training CLIs)
// Unit takes whatever the others do not, so a new test file always runs in exactly one project.
const KINDS = ["golden", "integration", "workerd", "e2e"] as const;
const kindFiles = (kind: string) => [`test/${kind}/**/*.test.ts`, `**/*.${kind}.test.ts`];
const nodeProject = (name: string, include: string[], exclude: string[] = []) => ({
  test: {
    name,
    environment: "node",
    include,
    exclude: [...configDefaults.exclude, ...exclude],
    testTimeout: 60_000,
  },
});

export default defineConfig({
  test: {
    projects: [
      nodeProject("unit", ["**/*.test.ts"], KINDS.flatMap(kindFiles)),
      nodeProject("golden", kindFiles("golden")),
      nodeProject("integration", kindFiles("integration")),
      nodeProject("e2e", kindFiles("e2e")),
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
                JOB_QUEUE_LIMIT: "4",
                // Every suite runs sharded: jobs of one model spread over three dispatchers.
                DISPATCHER_SHARDS: "3",
                // Every fake worker lives under .fake (fake-gpu-workers.ts).
                WORKER_URL_PATTERNS: "http://*.fake/*",
                // Local mode, so suites about other things call /v1 without keys; the key tests
                // also run the app with wrangler.toml's "required" (fetchRequiringKeys in
                // test/workerd/helpers.ts).
                API_KEYS: "optional",
                // Signs the edge's job webhooks; job-lifecycle.test.ts verifies with it.
                WEBHOOK_SECRET: "whsec_YnVkZ2V0ZnVzaW9uLXdvcmtlcmQtdGVzdC1zZWNyZXQ=",
              },
              outboundService: fakeOutbound(FIXTURE_ROOT),
            },
          }),
        ],
        test: {
          name: "workerd",
          include: kindFiles("workerd"),
          globalSetup: ["test/workerd/global-setup.ts"],
          setupFiles: ["test/workerd/apply-migrations.ts"],
          testTimeout: 60_000,
          // Hooks upload and load whole bundles (ORT sessions), as long as a test on a loaded machine.
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
