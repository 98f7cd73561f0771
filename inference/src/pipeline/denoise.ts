/**
 * The denoising loop (SPEC §2; the `for t in timesteps` loop of diffusers' pipelines): latents =
 * noise * init_noise_sigma, then per timestep scale the model input, predict the noise for
 * [uncond; cond] as one batch when guidance applies, combine the halves with classifier-free
 * guidance and take one scheduler step. It touches only the scheduler contract (initNoiseSigma,
 * scaleModelInput, timesteps, step) and gets the noise prediction from outside, so one loop
 * drives the ONNX UNet (SdPipeline), the mini world's TypeScript reference denoiser and the
 * continuous-batching engine (batching/batch-engine.ts), which advances many trajectories by one
 * step per shared UNet call. Arithmetic that torch does in float32 is rounded to float32
 * (Math.fround).
 */
import type { EulerDiscreteScheduler } from "@budgetfusion/shared/schedulers/euler-discrete";
import { throwIfAborted } from "./cancel";
import { assertFinite } from "./finite-check";

const f32 = Math.fround;

/** sample [B or 2B, C, h, w] at a timestep -> predicted noise of the same shape. */
type NoisePredictor = (sample: Float32Array, timestep: number) => Promise<Float32Array>;

export interface TrajectoryOptions {
  /** A scheduler whose setTimesteps() has been called. */
  scheduler: EulerDiscreteScheduler;
  /** N(0,1) initial latents [B, C, h, w], before init_noise_sigma. */
  noise: Float32Array;
  /** CFG scale; > 1 predicts [uncond; cond] (2B rows, the text embeddings' order). */
  guidanceScale: number;
}

/**
 * One request's place in the loop: its scheduler, latents and step index. modelInput() is what
 * the UNet gets at the current step (both CFG halves, so a pair never splits), advance() takes
 * the prediction for exactly those rows and takes the step.
 */
export class DenoisingTrajectory {
  private latents: Float32Array;
  private index = 0;
  private readonly scheduler: EulerDiscreteScheduler;
  private readonly guidance: number;

  constructor(o: TrajectoryOptions) {
    this.scheduler = o.scheduler;
    this.guidance = o.guidanceScale;
    const sigma0 = o.scheduler.initNoiseSigma;
    this.latents = new Float32Array(o.noise.length);
    for (let i = 0; i < o.noise.length; i++) this.latents[i] = o.noise[i] * sigma0;
  }

  get cfg(): boolean {
    return this.guidance > 1;
  }

  /** Steps taken so far. */
  get step(): number {
    return this.index;
  }

  get steps(): number {
    return this.scheduler.timesteps.length;
  }

  get done(): boolean {
    return this.index >= this.steps;
  }

  /** The scheduler's timestep for the current step. */
  get timestep(): number {
    return this.scheduler.timesteps[this.index];
  }

  /** Final latents [B, C, h, w] (unscaled) once done; the current ones before. */
  get result(): Float32Array {
    return this.latents;
  }

  /** Scaled latents for the current step, [uncond; cond] copies when guidance applies. */
  modelInput(): Float32Array {
    const scaled = this.scheduler.scaleModelInput(this.latents, this.index);
    if (!this.cfg) return scaled;
    const input = new Float32Array(2 * scaled.length);
    input.set(scaled, 0);
    input.set(scaled, scaled.length);
    return input;
  }

  /** Takes one step with the prediction for modelInput()'s rows. */
  advance(prediction: Float32Array): void {
    const where = `at step ${this.index + 1} of ${this.steps} (timestep ${this.timestep})`;
    assertFinite(prediction, "unet", where);
    let guided = prediction;
    if (this.cfg) {
      // eps = u + g (c - u), each operation rounded to float32 as torch does.
      const g = this.guidance;
      const n = this.latents.length;
      guided = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        const u = prediction[k];
        guided[k] = f32(u + f32(g * f32(prediction[n + k] - u)));
      }
    }
    this.latents = this.scheduler.step(guided, this.index, this.latents).prevSample;
    assertFinite(this.latents, "scheduler", where);
    this.index++;
  }
}

export interface StepDriver {
  predictNoise: NoisePredictor;
  /** Checked before every step. */
  signal?: AbortSignal;
  /** Called after each step with its wall time (metrics, progress). */
  onStep?: (index: number, ms: number) => void;
}

/** Steps `trajectory` alone to its end, one prediction per step; returns the final latents. */
export async function runTrajectory(
  trajectory: DenoisingTrajectory,
  o: StepDriver,
): Promise<Float32Array> {
  while (!trajectory.done) {
    throwIfAborted(o.signal);
    const stepStart = performance.now();
    const index = trajectory.step;
    trajectory.advance(await o.predictNoise(trajectory.modelInput(), trajectory.timestep));
    o.onStep?.(index, performance.now() - stepStart);
  }
  return trajectory.result;
}

/** Runs every timestep of `scheduler`; returns the final latents [B, C, h, w] (unscaled). */
export function denoise(o: TrajectoryOptions & StepDriver): Promise<Float32Array> {
  return runTrajectory(new DenoisingTrajectory(o), o);
}
