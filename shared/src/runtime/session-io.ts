/**
 * Plumbing for code that drives an ONNX session through the OrtPort (the SD pipeline's components,
 * the CLIP embedders): find named inputs/outputs on a session and convert float32 data to and from
 * the element type the model declares (float32 or float16; int32 or int64 ids).
 */
import { ModelLoadError, ShapeError } from "../errors";
import { decodeFloat16, encodeFloat16 } from "./float16";
import type { PortTensor, SessionIOInfo, TensorElementType } from "./ort-port";

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
