import { ConfigError, ModelLoadError } from "@budgetfusion/shared/errors";
import { fixturePath } from "@budgetfusion/test-helpers/fixtures";
import { describe, expect, it } from "vitest";
import { availableExecutionProviders, NodeOrtPort } from "./ort-node";

// Tests may read the fixtures (dev tooling); the worker itself never does.
const TEXT_ENCODER = fixturePath("tiny-sd2", "text_encoder", "model.onnx");

describe("NodeOrtPort", () => {
  it("lists the bundled providers", () => {
    const names = availableExecutionProviders().map((b) => b.name);
    expect(names).toEqual(expect.arrayContaining(["cpu", "webgpu", "cuda"]));
  });

  it("rejects an unknown provider up front, naming it", () => {
    expect(() => new NodeOrtPort(["tpu"])).toThrow(ConfigError);
    expect(() => new NodeOrtPort(["tpu"])).toThrow(/"tpu"/);
  });

  it("opens a model on the CPU and reports its I/O with element types", async () => {
    const session = await new NodeOrtPort().createSessionFromFile(TEXT_ENCODER);
    expect(session.inputs).toEqual([{ name: "input_ids", type: "int32", shape: ["batch", 77] }]);
    const out = await session.run(
      { input_ids: { type: "int32", data: new Int32Array(77), dims: [1, 77] } },
      ["last_hidden_state"],
    );
    expect(out.last_hidden_state.dims).toEqual([1, 77, 32]);
    await session.release();
  });

  // On this CI host neither GPU provider can start (no Vulkan, no CUDA binaries); on a GPU host
  // they open. Either way a failure must be a ModelLoadError that names the provider.
  it.each([
    ["webgpu", /providers \[webgpu\].*libvulkan1/s],
    ["cuda", /providers \[cuda\].*ONNXRUNTIME_NODE_INSTALL=cuda12/s],
  ])("opens with %s or fails naming it", async (provider, pattern) => {
    const port = new NodeOrtPort([provider]);
    const outcome = await port.createSessionFromFile(TEXT_ENCODER).then(
      async (s) => {
        await s.release();
        return "opened";
      },
      (err: unknown) => err,
    );
    if (outcome !== "opened") {
      expect(outcome).toBeInstanceOf(ModelLoadError);
      expect((outcome as Error).message).toMatch(pattern);
    }
  });
});
