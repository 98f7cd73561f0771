/**
 * Component I/O adaptation against fake sessions: float16 models get float16 tensors and their
 * float16 outputs are decoded; the timestep takes the declared element type and length.
 */

import { decodeFloat16, encodeFloat16 } from "@budgetfusion/shared/runtime/float16";
import type { PortSession, PortTensor, SessionIOInfo } from "@budgetfusion/shared/runtime/ort-port";
import { describe, expect, it } from "vitest";
import { RunTimer } from "./run-timer";
import { TextEncoder } from "./text-encoder";
import { Unet } from "./unet";
import { VaeDecoder } from "./vae-decoder";

function fakeSession(
  inputs: SessionIOInfo[],
  outputs: SessionIOInfo[],
  respond: (feeds: Record<string, PortTensor>) => Record<string, PortTensor>,
) {
  const seen: Record<string, PortTensor>[] = [];
  const session: PortSession = {
    inputs,
    outputs,
    run: async (feeds) => {
      seen.push(feeds);
      return respond(feeds);
    },
    release: async () => {},
  };
  return { session, seen };
}

const SAMPLE_DIMS = [2, 4, 2, 2];
const sample = Float32Array.from({ length: 32 }, (_, i) => i / 10);
const hidden = new Float32Array(2 * 3 * 4).fill(0.5);

describe("Unet adaptation", () => {
  it("feeds a float16 model float16 tensors, an int64 [B] timestep, and decodes its output", async () => {
    const { session, seen } = fakeSession(
      [
        { name: "sample", type: "float16", shape: ["batch", 4, "h", "w"] },
        { name: "timestep", type: "int64", shape: ["batch"] },
        { name: "encoder_hidden_states", type: "float16", shape: ["batch", 3, 4] },
      ],
      [{ name: "out_sample", type: "float16" }],
      (feeds) => ({
        // Echo the sample back as the prediction.
        out_sample: { type: "float16", data: feeds.sample.data, dims: feeds.sample.dims },
      }),
    );
    const unet = await Unet.create(session);
    const timer = new RunTimer();
    const out = await unet.predict(sample, SAMPLE_DIMS, 999, hidden, [2, 3, 4], timer);
    const feeds = seen[0];
    expect(feeds.sample.type).toBe("float16");
    expect(Array.from(feeds.sample.data as Uint16Array)).toEqual(Array.from(encodeFloat16(sample)));
    expect(feeds.encoder_hidden_states.type).toBe("float16");
    expect(feeds.timestep).toEqual({
      type: "int64",
      data: BigInt64Array.from([999n, 999n]),
      dims: [2],
    });
    expect(Array.from(out)).toEqual(Array.from(decodeFloat16(encodeFloat16(sample))));
    expect(timer.calls).toBe(1);
  });

  it.each([
    ["float32", [1], (d: PortTensor["data"]) => Array.from(d as Float32Array), [980.5]],
    ["int32", [1], (d: PortTensor["data"]) => Array.from(d as Int32Array), [981]],
    [
      "float16",
      [1],
      (d: PortTensor["data"]) => Array.from(decodeFloat16(d as Uint16Array)),
      [980.5],
    ],
  ] as const)("timestep as declared %s of shape [1]", async (type, shape, read, expected) => {
    const { session, seen } = fakeSession(
      [
        { name: "sample", type: "float32", shape: ["batch", 4, "h", "w"] },
        { name: "timestep", type, shape: [...shape] },
        { name: "encoder_hidden_states", type: "float32" },
      ],
      [{ name: "out_sample", type: "float32" }],
      (feeds) => ({ out_sample: feeds.sample }),
    );
    const unet = await Unet.create(session);
    await unet.predict(sample, SAMPLE_DIMS, 980.5, hidden, [2, 3, 4], new RunTimer());
    expect(seen[0].timestep.dims).toEqual([1]);
    expect(read(seen[0].timestep.data)).toEqual(expected);
  });

  it("rejects an output whose shape differs from the sample", async () => {
    const { session } = fakeSession(
      [
        { name: "sample", type: "float32" },
        { name: "timestep", type: "float32", shape: [1] },
        { name: "encoder_hidden_states", type: "float32" },
      ],
      [{ name: "out_sample", type: "float32" }],
      () => ({ out_sample: { type: "float32", data: new Float32Array(4), dims: [1, 4, 1, 1] } }),
    );
    const unet = await Unet.create(session);
    await expect(
      unet.predict(sample, SAMPLE_DIMS, 1, hidden, [2, 3, 4], new RunTimer()),
    ).rejects.toThrow(/unet output/);
  });
});

describe("TextEncoder and VaeDecoder adaptation", () => {
  it("sends int64 ids when the encoder declares int64 and decodes float16 hidden states", async () => {
    const { session, seen } = fakeSession(
      [{ name: "input_ids", type: "int64", shape: ["batch", 77] }],
      [
        { name: "last_hidden_state", type: "float16" },
        { name: "pooler_output", type: "float16" },
      ],
      () => ({
        last_hidden_state: {
          type: "float16",
          data: encodeFloat16(Float32Array.of(1.5, -2)),
          dims: [1, 2, 1],
        },
      }),
    );
    const enc = await TextEncoder.create(session);
    const out = await enc.encode(Int32Array.of(49406, 49407), 1, 2, new RunTimer());
    expect(seen[0].input_ids).toEqual({
      type: "int64",
      data: BigInt64Array.of(49406n, 49407n),
      dims: [1, 2],
    });
    expect(Array.from(out.data)).toEqual([1.5, -2]);
    expect(out.dims).toEqual([1, 2, 1]);
  });

  it("feeds the VAE's declared input name and type", async () => {
    const { session, seen } = fakeSession(
      [{ name: "latent_sample", type: "float16" }],
      [{ name: "sample", type: "float32" }],
      () => ({ sample: { type: "float32", data: new Float32Array(3), dims: [1, 3, 1, 1] } }),
    );
    const vae = await VaeDecoder.create(session);
    await vae.decode(Float32Array.of(0.25, 0.5, 1, 2), [1, 4, 1, 1], new RunTimer());
    expect(seen[0].latent_sample.type).toBe("float16");
    expect(Array.from(decodeFloat16(seen[0].latent_sample.data as Uint16Array))).toEqual([
      0.25, 0.5, 1, 2,
    ]);
  });
});
