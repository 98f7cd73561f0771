/**
 * The denoising loop (SPEC §2; the `for t in timesteps` loop of diffusers' pipelines): latents =
 * noise * init_noise_sigma, then per timestep scale the model input, predict the noise for
 * [uncond; cond] as one batch when guidance applies, combine the halves with classifier-free
 * guidance and take one scheduler step. It touches only the scheduler contract (initNoiseSigma,
 * scaleModelInput, timesteps, step) and gets the noise prediction as a function, so one loop
 * drives the ONNX UNet (SdPipeline) and the mini world's TypeScript reference denoiser.
 * Arithmetic that torch does in float32 is rounded to float32 (Math.fround).
 */
import type { EulerDiscreteScheduler } from "@budgetfusion/shared/schedulers/euler-discrete";
import { throwIfAborted } from "./cancel";
import { assertFinite } from "./finite-check";

const f32 = Math.fround;

/** sample [B or 2B, C, h, w] at a timestep -> predicted noise of the same shape. */
type NoisePredictor = (sample: Float32Array, timestep: number) => Promise<Float32Array>;

export interface DenoiseOptions {
  /** A scheduler whose setTimesteps() has been called. */
  scheduler: EulerDiscreteScheduler;
  /** N(0,1) initial latents [B, C, h, w], before init_noise_sigma. */
  noise: Float32Array;
  /** CFG scale; > 1 predicts [uncond; cond] (2B rows, the text embeddings' order). */
  guidanceScale: number;
  predictNoise: NoisePredictor;
  /** Checked before every step. */
  signal?: AbortSignal;
  /** Called after each step with its wall time (metrics, progress). */
  onStep?: (index: number, ms: number) => void;
}

/** Runs every timestep of `scheduler`; returns the final latents [B, C, h, w] (unscaled). */
export async function denoise(o: DenoiseOptions): Promise<Float32Array> {
  const { scheduler, noise, guidanceScale: g } = o;
  const cfg = g > 1;
  const sigma0 = scheduler.initNoiseSigma;
  let latents: Float32Array = new Float32Array(noise.length);
  for (let i = 0; i < noise.length; i++) latents[i] = noise[i] * sigma0;
  for (let i = 0; i < scheduler.timesteps.length; i++) {
    throwIfAborted(o.signal);
    const stepStart = performance.now();
    const scaled = scheduler.scaleModelInput(latents, i);
    let input = scaled;
    if (cfg) {
      input = new Float32Array(2 * scaled.length);
      input.set(scaled, 0);
      input.set(scaled, scaled.length);
    }
    const out = await o.predictNoise(input, scheduler.timesteps[i]);
    const where = `at step ${i + 1} of ${scheduler.timesteps.length} (timestep ${scheduler.timesteps[i]})`;
    assertFinite(out, "unet", where);
    let guided = out;
    if (cfg) {
      // eps = u + g (c - u), each operation rounded to float32 as torch does.
      const n = latents.length;
      guided = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        const u = out[k];
        guided[k] = f32(u + f32(g * f32(out[n + k] - u)));
      }
    }
    latents = scheduler.step(guided, i, latents).prevSample;
    assertFinite(latents, "scheduler", where);
    o.onStep?.(i, performance.now() - stepStart);
  }
  return latents;
}
