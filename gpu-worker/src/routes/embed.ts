/**
 * POST /v1/embed: CLIP text embeddings (L2-normalised) for the edge's predictor when the active
 * bundle runs its embedding on the GPU worker (bundle manifest `embedding.runs_at`).
 */
import { type EmbedResponse, embedRequestSchema } from "@budgetfusion/shared/schemas/worker-api";
import { createFactory } from "hono/factory";
import { NotConfiguredError, NotReadyError } from "../http-errors";
import { BODY_LIMITS, limitBody } from "./body-limit";
import type { WorkerDeps } from "./deps";
import { jsonBody } from "./validate";

export function embedHandlers(deps: WorkerDeps) {
  return createFactory().createHandlers(
    limitBody(BODY_LIMITS.embed),
    jsonBody(embedRequestSchema),
    async (c) => {
      const { texts } = c.req.valid("json");
      const embedder = deps.state.embedder;
      if (embedder === undefined) {
        if (!deps.state.embedConfigured) {
          throw new NotConfiguredError("no CLIP text model configured (set WORKER_CLIP_DIR)");
        }
        throw new NotReadyError("the CLIP text model is still loading");
      }
      const flat = await embedder.embed(texts);
      const d = embedder.width;
      const body: EmbedResponse = {
        model_id: embedder.modelId,
        width: d,
        embeddings: texts.map((_, i) => Array.from(flat.subarray(i * d, (i + 1) * d))),
      };
      return c.json(body);
    },
  );
}
