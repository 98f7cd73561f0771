/** The one Hono Env generic shared by the app, its middleware and its route groups. */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { RequestIdVariables } from "hono/request-id";
import type { TimingVariables } from "hono/timing";
import type { EdgeConfig } from "./config";
import type { EdgeDb } from "./db/client";
import type { Consumer } from "./keys/consumer";

/** Who called a GPU worker route: a worker's own credential, or the shared WORKER_TOKEN. */
type WorkerIdentity =
  | { kind: "credential"; credentialId: string; workerId: string }
  | { kind: "shared" };

export interface AppEnv {
  Bindings: Env;
  Variables: RequestIdVariables &
    TimingVariables & {
      db: EdgeDb;
      config: EdgeConfig;
      /** Set by keys/consumer-auth.ts on the consumer routes (/v1 but the workers' own). */
      consumer?: Consumer;
      /** Set by middleware/worker-auth.ts on the GPU workers' routes (/v1/workers/*). */
      workerIdentity?: WorkerIdentity;
    };
}

export type EdgeApp = OpenAPIHono<AppEnv>;
