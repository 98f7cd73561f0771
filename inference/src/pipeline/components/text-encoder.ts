/**
 * CLIP text encoder of the diffusers ONNX layout (`text_encoder/model.onnx`): token ids
 * [B, L] -> last_hidden_state [B, L, D] (SPEC §2, the UNet's encoder_hidden_states). The id
 * element type (int32 or int64) is read from the session.
 */
import type { PortSession } from "@budgetfusion/shared/runtime/ort-port";
import { findIO, intTensor, readFloat } from "@budgetfusion/shared/runtime/session-io";
import type { RunTimer } from "./run-timer";

export class TextEncoder {
  private constructor(
    private readonly session: PortSession,
    private readonly inputName: string,
    private readonly inputType: PortSession["inputs"][number]["type"],
    private readonly outputName: string,
  ) {}

  static async create(session: PortSession) {
    const input = findIO(session.inputs, ["input_ids"], 0, "text_encoder");
    const output = findIO(session.outputs, ["last_hidden_state"], 0, "text_encoder");
    return new TextEncoder(session, input.name, input.type, output.name);
  }

  /** ids: row-major [batch, length] -> hidden states [batch, length, width]. */
  async encode(
    ids: Int32Array,
    batch: number,
    length: number,
    timer: RunTimer,
  ): Promise<{ data: Float32Array; dims: number[] }> {
    const feeds = {
      [this.inputName]: intTensor(ids, [batch, length], this.inputType, "input_ids"),
    };
    const out = await timer.time(() => this.session.run(feeds, [this.outputName]));
    const t = out[this.outputName];
    return { data: readFloat(t, "last_hidden_state"), dims: [...t.dims] };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
