import { ConfigError, ModelLoadError } from "@budgetfusion/shared/errors";
import { fixturePath } from "@budgetfusion/test-helpers/fixtures";
import { afterAll, describe, expect, it } from "vitest";
import { NodeOrtPort } from "./ort-node";
import { ThreadedNodeOrtPort } from "./ort-node-thread";

const TEXT_ENCODER = fixturePath("tiny-sd2", "text_encoder", "model.onnx");

describe("ThreadedNodeOrtPort", () => {
  const port = new ThreadedNodeOrtPort(["cpu"], { intraOpNumThreads: 1 });
  afterAll(() => port.close());

  it("reports the same I/O and computes the same outputs as the inline port", async () => {
    const ids = Int32Array.from({ length: 77 }, (_, i) => (i * 37) % 1000);
    const feeds = { input_ids: { type: "int32" as const, data: ids, dims: [1, 77] } };
    const inline = await new NodeOrtPort(["cpu"]).createSessionFromFile(TEXT_ENCODER);
    const threaded = await port.createSessionFromFile(TEXT_ENCODER);
    expect(threaded.inputs).toEqual(inline.inputs);
    expect(threaded.outputs).toEqual(inline.outputs);
    const a = await inline.run(feeds, ["last_hidden_state"]);
    const b = await threaded.run(feeds, ["last_hidden_state"]);
    expect(b.last_hidden_state.dims).toEqual([1, 77, 32]);
    expect(b.last_hidden_state.data).toEqual(a.last_hidden_state.data);
    // The caller's input buffer is still its own (tensors are copied to the thread).
    expect(ids[1]).toBe(37);
    await Promise.all([inline.release(), threaded.release()]);
  });

  it("fails a missing model with a ModelLoadError naming the path, and a bad run naming ORT's reason", async () => {
    await expect(port.createSessionFromFile("/nonexistent/model.onnx")).rejects.toThrow(
      ModelLoadError,
    );
    await expect(port.createSessionFromFile("/nonexistent/model.onnx")).rejects.toThrow(
      /\/nonexistent\/model\.onnx/,
    );
    const session = await port.createSessionFromFile(TEXT_ENCODER);
    await expect(
      session.run({ input_ids: { type: "int32", data: new Int32Array(3), dims: [1, 3] } }),
    ).rejects.toThrow(/input_ids|dimension|shape/i);
    await session.release();
  });

  it("rejects an unknown provider before starting a thread", () => {
    expect(() => new ThreadedNodeOrtPort(["tpu"])).toThrow(ConfigError);
  });
});
