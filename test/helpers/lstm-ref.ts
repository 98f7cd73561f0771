/** The fixtures/lstm-ref cases (lstm.json): PyTorch BiLSTM predictor references in float64. */
import { type ArrayRef, fixturePath, readJson } from "./fixtures";

export interface LstmCase {
  name: string;
  din: number;
  hidden: number;
  mlp: number;
  batch: number;
  seq: number;
  input: ArrayRef;
  target: ArrayRef;
  output: ArrayRef;
  loss: number;
  params: Record<string, ArrayRef>;
  grads: Record<string, ArrayRef>;
  /** The same model exported by torch.onnx (standard LSTM operator). */
  onnx: string;
}

export const LSTM_REF_DIR = fixturePath("lstm-ref");
export const lstmRefCases = (): LstmCase[] =>
  readJson<{ cases: LstmCase[] }>("lstm-ref", "lstm.json").cases;
