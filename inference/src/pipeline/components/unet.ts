/**
 * UNet of the diffusers ONNX layout (`unet/model.onnx`): (sample [B,4,h,w], timestep,
 * encoder_hidden_states [B,L,D]) -> noise / v prediction [B,4,h,w] (SPEC §2). Element types come
 * from the session: float32 or float16 tensors; a timestep of float32/float16/int32/int64 with
 * shape [1] or [B] as the model declares (diffusers' ONNX pipeline feeds [1]).
 */
import { ModelLoadError, ShapeError } from "@budgetfusion/shared/errors";
import { encodeFloat16 } from "@budgetfusion/shared/runtime/float16";
import type { PortSession, PortTensor, SessionIOInfo } from "@budgetfusion/shared/runtime/ort-port";
import {
  expectDims,
  findIO,
  floatTensor,
  readFloat,
} from "@budgetfusion/shared/runtime/session-io";
import type { RunTimer } from "./run-timer";

export class Unet {
  private constructor(
    private readonly session: PortSession,
    private readonly sample: SessionIOInfo,
    private readonly timestep: SessionIOInfo,
    private readonly hidden: SessionIOInfo,
    private readonly outputName: string,
  ) {}

  static async create(session: PortSession) {
    const sample = findIO(session.inputs, ["sample"], 0, "unet");
    const timestep = findIO(session.inputs, ["timestep"], 1, "unet");
    const hidden = findIO(session.inputs, ["encoder_hidden_states"], 2, "unet");
    const output = findIO(session.outputs, ["out_sample"], 0, "unet");
    return new Unet(session, sample, timestep, hidden, output.name);
  }

  /**
   * Whether rows may carry different timesteps in one call: the timestep's dim is symbolic, so
   * the model takes a [B] vector (diffusers' UNet broadcasts a [1] one; both shapes work).
   */
  get perRowTimesteps(): boolean {
    const dim = this.timestep.shape?.[0];
    return dim === undefined || typeof dim === "string";
  }

  /**
   * One UNet evaluation. sample: [B,4,h,w]; hidden: [B,L,D]; timestep: the scheduler's value, or
   * one per row (a batch whose rows are at different steps; needs perRowTimesteps).
   * Returns the model output as float32 [B,4,h,w].
   */
  async predict(
    sample: Float32Array,
    sampleDims: readonly number[],
    timestep: number | Float32Array,
    hidden: Float32Array,
    hiddenDims: readonly number[],
    timer: RunTimer,
  ): Promise<Float32Array> {
    const feeds = {
      [this.sample.name]: floatTensor(sample, sampleDims, this.sample.type, "sample"),
      [this.timestep.name]: this.timestepTensor(timestep, sampleDims[0]),
      [this.hidden.name]: floatTensor(
        hidden,
        hiddenDims,
        this.hidden.type,
        "encoder_hidden_states",
      ),
    };
    const out = await timer.time(() => this.session.run(feeds, [this.outputName]));
    const t = out[this.outputName];
    expectDims(t.dims, sampleDims, "unet output");
    return readFloat(t, "out_sample");
  }

  /** Timestep length: a static dim as declared, [B] when symbolic and named like the batch, else [1]. */
  private timestepLength(batch: number): number {
    const dim = this.timestep.shape?.[0];
    if (typeof dim === "number") return dim;
    const batchDim = this.sample.shape?.[0];
    return dim !== undefined && (dim === batchDim || dim === "batch") ? batch : 1;
  }

  /** A uniform timestep keeps the shape the model declares; per-row ones are a [B] vector. */
  private timestepValues(t: number | Float32Array, batch: number): Float32Array {
    if (typeof t === "number") return new Float32Array(this.timestepLength(batch)).fill(t);
    if (t.length !== batch) {
      throw new ShapeError(`${t.length} timesteps for a batch of ${batch}`, { field: "timestep" });
    }
    if (t.every((v) => v === t[0])) return new Float32Array(this.timestepLength(batch)).fill(t[0]);
    if (!this.perRowTimesteps) {
      throw new ShapeError(
        `unet timestep has static shape [${this.timestep.shape}]: rows cannot differ`,
        { field: "timestep" },
      );
    }
    return t;
  }

  private timestepTensor(t: number | Float32Array, batch: number): PortTensor {
    const values = this.timestepValues(t, batch);
    const n = values.length;
    switch (this.timestep.type ?? "float32") {
      case "float32":
        return { type: "float32", data: values, dims: [n] };
      case "float16":
        return { type: "float16", data: encodeFloat16(values), dims: [n] };
      case "int32":
        return { type: "int32", data: Int32Array.from(values, Math.round), dims: [n] };
      case "int64":
        return {
          type: "int64",
          data: BigInt64Array.from(values, (v) => BigInt(Math.round(v))),
          dims: [n],
        };
      default:
        throw new ModelLoadError(`unet timestep has unsupported type ${this.timestep.type}`, {
          field: "timestep",
        });
    }
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
