/**
 * The work one thread does for data-parallel training (SPEC §4): gather a shard of sequences
 * from a dataset, run forward (+ loss + backward into its own gradient buffer). Used directly by
 * the single-thread engine and inside each worker thread, so both compute the same thing.
 */
import type { ModelConfig } from "../model/config";
import { type ParamSpec, viewParams } from "../model/params";
import { predictorForward, predictorForwardBackward } from "../model/predictor";

export interface DatasetView {
  /** [N, T, D] batch-first inputs. */
  x: Float32Array;
  /** [N, T, heads] targets (absent for prediction-only data). */
  y: Float32Array | null;
}

export interface StepRequest {
  dataset: string;
  indices: Int32Array;
  lossDenominator: number;
  dropoutSeed: number;
  sampleOffset: number;
  /** First-difference loss weight (model/curve-loss.ts). */
  diffWeight: number;
}

export class ShardRunner {
  private readonly params;
  private readonly grads;
  private readonly datasets = new Map<string, DatasetView>();

  constructor(
    private readonly cfg: ModelConfig,
    specs: ParamSpec[],
    paramsFlat: Float32Array,
    readonly gradsFlat: Float32Array,
    private readonly T: number,
    private readonly heads: number,
  ) {
    this.params = viewParams(specs, paramsFlat).map;
    this.grads = viewParams(specs, gradsFlat).map;
  }

  setDataset(name: string, view: DatasetView): void {
    this.datasets.set(name, view);
  }

  private gather(name: string, indices: Int32Array): { x: Float32Array; y: Float32Array | null } {
    const ds = this.datasets.get(name);
    if (!ds) throw new Error(`unknown dataset ${name}`);
    const rowX = this.T * this.cfg.width;
    const rowY = this.T * this.heads;
    const x = new Float32Array(indices.length * rowX);
    const y = ds.y ? new Float32Array(indices.length * rowY) : null;
    indices.forEach((s, i) => {
      x.set(ds.x.subarray(s * rowX, (s + 1) * rowX), i * rowX);
      if (y && ds.y) y.set(ds.y.subarray(s * rowY, (s + 1) * rowY), i * rowY);
    });
    return { x, y };
  }

  /** Zeroes this runner's gradients, then accumulates the shard's; returns the partial loss. */
  step(req: StepRequest): number {
    this.gradsFlat.fill(0);
    const { x, y } = this.gather(req.dataset, req.indices);
    if (!y) throw new Error(`dataset ${req.dataset} has no targets`);
    const r = predictorForwardBackward(
      this.cfg,
      this.params,
      this.grads,
      x,
      y,
      req.indices.length,
      this.T,
      req.lossDenominator,
      {
        train: true,
        dropoutSeed: req.dropoutSeed,
        sampleOffset: req.sampleOffset,
        diffWeight: req.diffWeight,
      },
    );
    return r.loss;
  }

  /** Inference outputs [n, T, heads] for the given sequences (no dropout). */
  forward(dataset: string, indices: Int32Array): Float32Array {
    const { x } = this.gather(dataset, indices);
    return predictorForward(this.cfg, this.params, x, indices.length, this.T);
  }
}
