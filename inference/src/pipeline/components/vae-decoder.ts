/**
 * VAE decoder of the diffusers ONNX layout (`vae_decoder/model.onnx`): latent_sample [B,4,h,w]
 * -> sample [B,3,8h,8w] in about [-1, 1] (SPEC §2). The caller divides by the scaling factor.
 */
import type { PortSession, SessionIOInfo } from "@budgetfusion/shared/runtime/ort-port";
import { findIO, floatTensor, readFloat } from "@budgetfusion/shared/runtime/session-io";
import type { RunTimer } from "./run-timer";

export class VaeDecoder {
  private constructor(
    private readonly session: PortSession,
    private readonly input: SessionIOInfo,
    private readonly outputName: string,
  ) {}

  static async create(session: PortSession) {
    const input = findIO(session.inputs, ["latent_sample"], 0, "vae_decoder");
    const output = findIO(session.outputs, ["sample"], 0, "vae_decoder");
    return new VaeDecoder(session, input, output.name);
  }

  /** latents (already divided by the scaling factor) [B,4,h,w] -> image [B,3,H,W] float32. */
  async decode(
    latents: Float32Array,
    dims: readonly number[],
    timer: RunTimer,
  ): Promise<{ data: Float32Array; dims: number[] }> {
    const feeds = {
      [this.input.name]: floatTensor(latents, dims, this.input.type, "latent_sample"),
    };
    const out = await timer.time(() => this.session.run(feeds, [this.outputName]));
    const t = out[this.outputName];
    return { data: readFloat(t, "sample"), dims: [...t.dims] };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
