/**
 * trainPredictor's progress events driving the one progress reporter, counted in sequences over
 * all epochs (the ETA assumes every epoch runs; early stopping ends sooner).
 */
import type { ProgressSink } from "../progress/progress";
import type { TrainProgress } from "./trainer";

export function trainerProgress(sink: ProgressSink): (p: TrainProgress) => void {
  let started = false;
  return (p) => {
    const n = p.sequencesPerEpoch;
    if (!started) sink.start(p.maxEpochs * n, p.epoch * n); // a resumed run starts mid-way
    started = true;
    const val = p.valLoss === undefined ? "" : ` val ${p.valLoss.toFixed(5)}`;
    sink.update(
      p.epoch * n + p.sequences,
      `epoch ${p.epoch + 1}/${p.maxEpochs} loss ${p.trainLoss.toFixed(5)}${val}`,
    );
  };
}
