import { describe, expect, it } from "vitest";
import { parseConfig } from "./config";

const SECRET = `whsec_${Buffer.alloc(24, 1).toString("base64")}`;

describe("parseConfig", () => {
  it("applies defaults and runs standalone without edge settings", () => {
    const c = parseConfig({ WORKER_MODEL_DIR: "/m" }, "gpu-box");
    expect(c).toMatchObject({
      port: 8788,
      modelDir: "/m",
      concurrency: 8,
      maxBatchSamples: 8,
      maxBatchPixels: 8 * 768 * 768,
      inferenceThread: true,
      queueLimit: 16,
      requestTimeoutMs: 300_000,
      executionProviders: ["cpu"],
      publicUrl: "http://127.0.0.1:8788",
      workerId: "gpu-box-8788",
      // Standalone: loopback only, so no token is needed (issue 12, finding 1).
      host: "127.0.0.1",
      authToken: undefined,
      limits: { maxPixelSteps: 8 * 768 * 768 * 50, maxBatchPixels: 8 * 768 * 768 },
    });
    expect(c.edge).toBeUndefined();
    expect(c.webhookSecret).toBeUndefined();
  });

  it("requires its token on every route once it has one: WORKER_AUTH_TOKEN, else WORKER_TOKEN", () => {
    const edge = { WORKER_MODEL_DIR: "/m", EDGE_URL: "https://e", WORKER_TOKEN: "edge-token" };
    expect(parseConfig(edge).authToken).toBe("edge-token");
    const own = { ...edge, WORKER_AUTH_TOKEN: "a-token-of-16-chars" };
    expect(parseConfig(own).authToken).toBe("a-token-of-16-chars");
  });

  it("refuses to listen beyond loopback without a token", () => {
    expect(() => parseConfig({ WORKER_MODEL_DIR: "/m", WORKER_HOST: "0.0.0.0" })).toThrow(
      /WORKER_AUTH_TOKEN: is required when WORKER_HOST \(0.0.0.0\)/,
    );
    const exposed = {
      WORKER_MODEL_DIR: "/m",
      WORKER_HOST: "0.0.0.0",
      WORKER_AUTH_TOKEN: "x".repeat(16),
    };
    expect(parseConfig(exposed).host).toBe("0.0.0.0");
  });

  it("parses every variable", () => {
    const c = parseConfig({
      WORKER_PORT: "18788",
      WORKER_MODEL_DIR: "hf:org/repo@v1",
      WORKER_CLIP_DIR: "/clip",
      WORKER_CONCURRENCY: "2",
      WORKER_QUEUE_LIMIT: "0",
      WORKER_REQUEST_TIMEOUT_MS: "5000",
      WORKER_EXECUTION_PROVIDERS: "webgpu, cpu",
      EDGE_URL: "https://edge.example/",
      WORKER_TOKEN: "t",
      WORKER_PUBLIC_URL: "http://10.0.0.5:18788",
      WORKER_ID: "w-1",
      WORKER_MAX_BATCH_SAMPLES: "16",
      WORKER_MAX_BATCH_PIXELS: "65536",
      WORKER_INFERENCE_THREAD: "0",
      WORKER_WEBHOOK_SECRET: SECRET,
    });
    expect(c).toMatchObject({
      port: 18788,
      clipDir: "/clip",
      concurrency: 2,
      queueLimit: 0,
      requestTimeoutMs: 5000,
      executionProviders: ["webgpu", "cpu"],
      edge: { url: "https://edge.example", token: "t" },
      publicUrl: "http://10.0.0.5:18788",
      workerId: "w-1",
      maxBatchSamples: 16,
      maxBatchPixels: 65536,
      inferenceThread: false,
      webhookSecret: SECRET,
    });
  });

  it("sends its own WORKER_CREDENTIAL to the edge; WORKER_TOKEN stays what the edge presents here", () => {
    const c = parseConfig({
      WORKER_MODEL_DIR: "/m",
      EDGE_URL: "https://e",
      WORKER_TOKEN: "edge-token",
      WORKER_CREDENTIAL: "bfw_own-secret",
    });
    expect(c.edge).toEqual({ url: "https://e", token: "bfw_own-secret" });
    expect(c.authToken).toBe("edge-token");
  });

  it.each([
    [{}, /WORKER_MODEL_DIR/],
    [{ WORKER_MODEL_DIR: "/m", WORKER_PORT: "http" }, /WORKER_PORT: must be a whole number/],
    [{ WORKER_MODEL_DIR: "/m", WORKER_CONCURRENCY: "0" }, /WORKER_CONCURRENCY/],
    [{ WORKER_MODEL_DIR: "/m", WORKER_EXECUTION_PROVIDERS: "tpu" }, /WORKER_EXECUTION_PROVIDERS/],
    [
      { WORKER_MODEL_DIR: "/m", EDGE_URL: "https://e" },
      /WORKER_CREDENTIAL or WORKER_TOKEN: one is required/,
    ],
    [{ WORKER_MODEL_DIR: "/m", WORKER_CREDENTIAL: "bfw_abc" }, /EDGE_URL: is required/],
    [
      { WORKER_MODEL_DIR: "/m", EDGE_URL: "https://e", WORKER_CREDENTIAL: "hunter2" },
      /WORKER_CREDENTIAL: must be a credential issued by the edge/,
    ],
    [
      { WORKER_MODEL_DIR: "/m", WORKER_WEBHOOK_SECRET: "hunter2" },
      /WORKER_WEBHOOK_SECRET: .*whsec_/,
    ],
    [{ WORKER_MODEL_DIR: "/m", WORKER_INFERENCE_THREAD: "yes" }, /WORKER_INFERENCE_THREAD/],
    [
      { WORKER_MODEL_DIR: "/m", WORKER_AUTH_TOKEN: "short" },
      /WORKER_AUTH_TOKEN: must be at least 16/,
    ],
    [{ WORKER_MODEL_DIR: "/m", WORKER_MAX_PIXEL_STEPS: "-1" }, /WORKER_MAX_PIXEL_STEPS/],
  ])("rejects %j naming the variable", (env, pattern) => {
    expect(() => parseConfig(env)).toThrow(pattern);
  });
});
