/** The one Hono Env generic shared by the app, its middleware and its route groups. */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { RequestIdVariables } from "hono/request-id";
import type { EdgeDb } from "./db/client";
import type { EdgeBindings, EdgeConfig } from "./env";

export interface AppEnv {
  Bindings: EdgeBindings;
  Variables: RequestIdVariables & { db: EdgeDb; config: EdgeConfig };
}

export type EdgeApp = OpenAPIHono<AppEnv>;
