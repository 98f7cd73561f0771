/**
 * Euler discrete scheduler, numerically equal to diffusers' EulerDiscreteScheduler
 * (set_timesteps, scale_model_input, step with s_churn = 0) — SPEC §2. Pure: no tensors library,
 * Float32Array in and out, float64 arithmetic on float32-rounded schedule values (diffusers keeps
 * its schedule in float32 tensors).
 *
 * Denoising-loop contract (diffusers' schedulers, STYLE §3): construct from a config, call
 * setTimesteps(n) before every loop, multiply the initial N(0,1) draw by initNoiseSigma, then for
 * i in 0..n-1: out = model(scaleModelInput(x, i), timesteps[i]); x = step(out, i, x).prevSample.
 */
import { ConfigError, ShapeError, ValidationError } from "../errors";
import { type EulerSchedulerConfig, parseSchedulerConfig } from "./scheduler-config";

const f32 = Math.fround;

export interface EulerStepOutput {
  prevSample: Float32Array;
  predOriginalSample: Float32Array;
}

/** float32 linspace as numpy/torch produce it: start + i * step, with the last point exact. */
function linspace(start: number, end: number, n: number): number[] {
  if (n === 1) return [start];
  const step = (end - start) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? end : start + i * step));
}

function trainBetas(config: EulerSchedulerConfig): number[] {
  const n = config.num_train_timesteps;
  if (config.trained_betas !== null) return config.trained_betas.map(f32);
  switch (config.beta_schedule) {
    case "linear":
      return linspace(config.beta_start, config.beta_end, n).map(f32);
    case "scaled_linear":
      // diffusers: torch.linspace(beta_start**0.5, beta_end**0.5, n, dtype=float32) ** 2
      return linspace(Math.sqrt(config.beta_start), Math.sqrt(config.beta_end), n).map((b) =>
        f32(f32(b) * f32(b)),
      );
    case "squaredcos_cap_v2": {
      const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
      return Array.from({ length: n }, (_, i) =>
        f32(Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999)),
      );
    }
  }
}

/** numpy's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Index of the last entry of ascending `xs` that is <= x, clipped to [0, xs.length - 2]. */
function lowerIndex(xs: readonly number[], x: number): number {
  let count = 0;
  for (const v of xs) if (v <= x) count++;
  return Math.min(Math.max(count - 1, 0), xs.length - 2);
}

export class EulerDiscreteScheduler {
  readonly config: EulerSchedulerConfig;
  /** sqrt((1 - alpha_bar) / alpha_bar) for every training timestep, ascending. */
  private readonly trainSigmas: number[];
  private readonly logTrainSigmas: number[];
  private _timesteps: number[] = [];
  private _sigmas: number[] = [];

  constructor(config: EulerSchedulerConfig) {
    this.config = config;
    let cumprod = 1;
    this.trainSigmas = trainBetas(config).map((beta) => {
      cumprod = f32(cumprod * f32(1 - beta));
      return f32(Math.sqrt((1 - cumprod) / cumprod));
    });
    this.logTrainSigmas = this.trainSigmas.map(Math.log);
  }

  /** Builds a scheduler from scheduler_config.json contents, with optional overrides merged over it. */
  static fromConfig(raw: unknown, overrides: Record<string, unknown> = {}): EulerDiscreteScheduler {
    return new EulerDiscreteScheduler(parseSchedulerConfig(raw, overrides).config);
  }

  /** Timesteps fed to the model, one per inference step (float32 values). */
  get timesteps(): readonly number[] {
    return this._timesteps;
  }

  /** Sigmas per step plus the final sigma (0 by default): length numInferenceSteps + 1. */
  get sigmas(): readonly number[] {
    return this._sigmas;
  }

  get numInferenceSteps(): number {
    return this._timesteps.length;
  }

  /** Standard deviation of the initial noise: agrees with diffusers' init_noise_sigma property. */
  get initNoiseSigma(): number {
    this.requireTimesteps();
    const max = Math.max(...this._sigmas);
    return this.config.timestep_spacing === "leading" ? f32(Math.sqrt(max * max + 1)) : max;
  }

  /** Agrees with diffusers' EulerDiscreteScheduler.set_timesteps (numpy float32 paths). */
  setTimesteps(numInferenceSteps: number): void {
    const n = numInferenceSteps;
    const N = this.config.num_train_timesteps;
    if (!Number.isInteger(n) || n < 1 || n > N) {
      throw new ValidationError(`num_inference_steps must be an integer in [1, ${N}], got ${n}`, {
        field: "steps",
      });
    }
    let timesteps: number[];
    switch (this.config.timestep_spacing) {
      case "linspace":
        timesteps = linspace(0, N - 1, n)
          .map(f32)
          .reverse();
        break;
      case "leading": {
        const ratio = Math.floor(N / n);
        timesteps = Array.from({ length: n }, (_, i) => Math.round(i * ratio))
          .reverse()
          .map((t) => f32(t + this.config.steps_offset));
        break;
      }
      case "trailing": {
        // np.arange(N, 0, -N/n).round() - 1
        const ratio = N / n;
        timesteps = Array.from({ length: n }, (_, i) => f32(roundHalfEven(N - i * ratio) - 1));
        break;
      }
    }
    let sigmas = timesteps.map((t) => this.interpolateSigma(t));
    if (this.config.use_karras_sigmas) {
      sigmas = this.karrasSigmas(sigmas, n);
      timesteps = sigmas.map((s) => f32(this.sigmaToTimestep(s)));
    }
    const last = this.config.final_sigmas_type === "zero" ? 0 : f32(this.trainSigmas[0]);
    this._timesteps = timesteps;
    this._sigmas = [...sigmas.map(f32), last];
  }

  /** sample / sqrt(sigma^2 + 1) for step `stepIndex` (diffusers scale_model_input). */
  scaleModelInput(sample: Float32Array, stepIndex: number): Float32Array {
    const sigma = this.sigmaAt(stepIndex);
    const scale = f32(Math.sqrt(f32(f32(sigma * sigma) + 1)));
    const out = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) out[i] = sample[i] / scale;
    return out;
  }

  /** One Euler step from sigma[stepIndex] to sigma[stepIndex + 1] (diffusers step, s_churn = 0). */
  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array): EulerStepOutput {
    if (modelOutput.length !== sample.length) {
      throw new ShapeError(
        `model output has ${modelOutput.length} values, sample has ${sample.length}`,
        { field: "model_output" },
      );
    }
    // Every operation is rounded to float32 as torch's float32 tensors do, so trajectories agree
    // to the last bits rather than drifting by ~1e-5 per step.
    const sigma = this.sigmaAt(stepIndex);
    const dt = f32(this._sigmas[stepIndex + 1] - sigma);
    const prevSample = new Float32Array(sample.length);
    const predOriginalSample = new Float32Array(sample.length);
    const sigmaSq1 = f32(f32(sigma * sigma) + 1);
    const vScale = f32(-sigma / f32(Math.sqrt(sigmaSq1)));
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i];
      const out = modelOutput[i];
      let x0: number;
      switch (this.config.prediction_type) {
        case "epsilon":
          x0 = f32(x - f32(sigma * out));
          break;
        case "v_prediction":
          x0 = f32(f32(out * vScale) + f32(x / sigmaSq1));
          break;
        case "sample":
          x0 = out;
          break;
      }
      predOriginalSample[i] = x0;
      const derivative = f32(f32(x - x0) / sigma);
      prevSample[i] = x + f32(derivative * dt);
    }
    return { prevSample, predOriginalSample };
  }

  private sigmaAt(stepIndex: number): number {
    this.requireTimesteps();
    if (!Number.isInteger(stepIndex) || stepIndex < 0 || stepIndex >= this.numInferenceSteps) {
      throw new ValidationError(
        `step index ${stepIndex} outside [0, ${this.numInferenceSteps - 1}]`,
        { field: "step_index" },
      );
    }
    return this._sigmas[stepIndex];
  }

  private requireTimesteps(): void {
    if (this._timesteps.length === 0) {
      throw new ConfigError("setTimesteps() must be called before the denoising loop", {
        field: "num_inference_steps",
      });
    }
  }

  /** np.interp(t, arange(N), train_sigmas). */
  private interpolateSigma(t: number): number {
    const lo = Math.min(Math.max(Math.floor(t), 0), this.trainSigmas.length - 1);
    const hi = Math.min(lo + 1, this.trainSigmas.length - 1);
    const w = t - lo;
    return f32(this.trainSigmas[lo] + (this.trainSigmas[hi] - this.trainSigmas[lo]) * w);
  }

  /** Karras et al. (2022) rho = 7 ramp between the schedule's end sigmas (diffusers _convert_to_karras). */
  private karrasSigmas(sigmas: number[], n: number): number[] {
    const sigmaMin = this.config.sigma_min ?? sigmas[sigmas.length - 1];
    const sigmaMax = this.config.sigma_max ?? sigmas[0];
    const rho = 7;
    const minInv = sigmaMin ** (1 / rho);
    const maxInv = sigmaMax ** (1 / rho);
    return linspace(0, 1, n).map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
  }

  /** Inverse of the sigma schedule by log-linear interpolation (diffusers _sigma_to_t). */
  private sigmaToTimestep(sigma: number): number {
    const logSigma = Math.log(Math.max(sigma, 1e-10));
    const logs = this.logTrainSigmas;
    const low = lowerIndex(logs, logSigma);
    const w = Math.min(Math.max((logs[low] - logSigma) / (logs[low] - logs[low + 1]), 0), 1);
    return (1 - w) * low + w * (low + 1);
  }
}
