/**
 * Shared plumbing for the pipeline components: find named inputs/outputs on a session, convert
 * float32 data to and from the element type the model declares (float32 or float16), and time
 * every ONNX run so the pipeline can report ONNX time vs everything else (bench overhead ratio).
 */
import { ModelLoadError, ShapeError } from "@budgetfusion/shared/errors";
import type {
  PortSession,
  PortTensor,
  SessionIOInfo,
  TensorElementType,
} from "@budgetfusion/shared/runtime/ort-port";
import { decodeFloat16, encodeFloat16 } from "../float16";

/** Accumulates wall time spent inside session.run, per component. */
export class RunTimer {
  ms = 0;
  calls = 0;

  async time<T>(fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.ms += performance.now() - start;
      this.calls++;
    }
  }
}

/** Finds an input/output by preferred names, else by position; ModelLoadError naming the model. */
export function findIO(
  list: readonly SessionIOInfo[],
  names: readonly string[],
  fallbackIndex: number | undefined,
  model: string,
): SessionIOInfo {
  for (const n of names) {
    const hit = list.find((io) => io.name === n);
    if (hit) return hit;
  }
  if (fallbackIndex !== undefined && list[fallbackIndex]) return list[fallbackIndex];
  throw new ModelLoadError(
    `${model}: none of [${names.join(", ")}] among [${list.map((io) => io.name).join(", ")}]`,
    { field: model },
  );
}

/** float32 values as a tensor of the declared float type (float32 default, float16 converted). */
export function floatTensor(
  data: Float32Array,
  dims: readonly number[],
  type: TensorElementType | undefined,
  field: string,
): PortTensor {
  switch (type ?? "float32") {
    case "float32":
      return { type: "float32", data, dims };
    case "float16":
      return { type: "float16", data: encodeFloat16(data), dims };
    default:
      throw new ModelLoadError(
        `${field}: expected a float32 or float16 input, model declares ${type}`,
        {
          field,
        },
      );
  }
}

/** Integer ids as int32 or int64 as the model declares (int64 default, as transformers exports). */
export function intTensor(
  data: Int32Array,
  dims: readonly number[],
  type: TensorElementType | undefined,
  field: string,
): PortTensor {
  switch (type ?? "int64") {
    case "int32":
      return { type: "int32", data, dims };
    case "int64":
      return { type: "int64", data: BigInt64Array.from(data, (v) => BigInt(v)), dims };
    default:
      throw new ModelLoadError(
        `${field}: expected an int32 or int64 input, model declares ${type}`,
        {
          field,
        },
      );
  }
}

/** A float output as float32 (float16 decoded). */
export function readFloat(t: PortTensor | undefined, field: string): Float32Array {
  if (t === undefined) throw new ShapeError(`missing output ${field}`, { field });
  if (t.type === "float32") return t.data as Float32Array;
  if (t.type === "float16") return decodeFloat16(t.data as Uint16Array);
  throw new ShapeError(`${field}: expected a float output, got ${t.type}`, { field });
}

/** Throws ShapeError unless `dims` equals `expected`. */
export function expectDims(dims: readonly number[], expected: readonly number[], field: string) {
  if (dims.length !== expected.length || dims.some((d, i) => d !== expected[i])) {
    throw new ShapeError(`${field}: shape [${dims}] where [${expected}] was expected`, { field });
  }
}

export type { PortSession };
