/**
 * Public API of predictor training (SPEC §4) for the pipeline and the CLIs. Keep these
 * signatures stable:
 *
 *   trainPredictor({ inputs [N,T,D], targets [N,T] | [N,T,3], n, steps: T, width: D,
 *                    valInputs?, valTargets?, nVal?, config?: TrainConfigInput,
 *                    checkpointDir?, resume?, onProgress? })
 *     -> Promise<{ params: ParamMap, history: EpochRecord[], bestEpoch, model, config }>
 *   predict(params, { architecture }, inputs [N,T,D], n) -> Float32Array [N,T] | [N,T,3]
 *
 * ParamMap = Map<name, { data: Float32Array, shape }> under PyTorch names (model/params.ts);
 * exportPredictorOnnx(params, model) in ../export/onnx-export.ts turns it into the ONNX file.
 */
export type { Architecture, ModelConfig } from "../model/config";
export type { ParamMap, ParamTensor } from "../model/params";
export { modelConfigFromParams, predict } from "./predict";
export {
  PAPER_SIZES,
  parseTrainConfig,
  type TrainConfig,
  type TrainConfigInput,
} from "./train-config";
export {
  type EpochRecord,
  type TrainInput,
  type TrainProgress,
  type TrainResult,
  trainPredictor,
} from "./trainer";
