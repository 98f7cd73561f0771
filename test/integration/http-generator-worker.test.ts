/**
 * Training's HTTP generator against the GPU worker's real HTTP app (a fake pipeline behind it):
 * the request training sends passes the worker's validation and the PNG comes back.
 */
import { createApp } from "@budgetfusion/gpu-worker/app";
import { HttpGenerator } from "@budgetfusion/training/dataset/http-generator";
import { describe, expect, it } from "vitest";
import { fakeDeps } from "./worker-fakes";

describe("HttpGenerator against the GPU worker's real HTTP app (fake pipeline behind it)", () => {
  it("passes the worker's request validation and receives a PNG", async () => {
    const deps = fakeDeps();
    const app = createApp(deps);
    const fetchImpl = ((input: URL | RequestInfo, init?: RequestInit) =>
      app.request(new Request(input, init))) as typeof fetch;
    const gen = new HttpGenerator({ urls: ["http://worker"], fetchImpl, maxAttempts: 1 });
    const res = await gen.generate({
      prompt: "a red ball",
      negativePrompt: "blurry",
      steps: 5,
      seed: 7,
      guidanceScale: 7.5,
      width: 64,
      height: 64,
      scheduler: { timestep_spacing: "trailing" },
    });
    expect([...res.png.subarray(0, 4)]).toEqual([137, 80, 78, 71]);
    expect(deps.generator.calls[0]).toMatchObject({
      steps: 5,
      seed: 7,
      guidanceScale: 7.5,
      width: 64,
      height: 64,
      negativePrompt: "blurry",
    });
  });
});
