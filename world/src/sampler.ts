/**
 * Text-to-image over the world's networks for the world's tests and figures (SPEC §2: Euler
 * discrete scheduler, classifier-free guidance on [uncond; cond], latents = N(0,1) *
 * init_noise_sigma). The denoising loop is the SD pipeline's own (@budgetfusion/inference
 * pipeline/denoise.ts); the networks are passed in as functions, so it runs the TypeScript
 * reference and the ONNX sessions alike.
 */
import { denoise } from "@budgetfusion/inference/pipeline/denoise";
import { mulberry32Random } from "@budgetfusion/shared/random/seeded-random";
import { EulerDiscreteScheduler } from "@budgetfusion/shared/schedulers/euler-discrete";

export interface WorldNets {
  /** input_ids [B,77] -> last_hidden_state [B,77,C]. */
  encode(ids: Int32Array, b: number): Promise<Float32Array>;
  /** sample [B,4,h,w], timestep [1], ehs [B,77,C] -> eps [B,4,h,w]. */
  unet(sample: Float32Array, timestep: number, ehs: Float32Array, b: number): Promise<Float32Array>;
  /** latent [B,4,h,w] (divided by the scaling factor) -> image [B,3,8h,8w] in [-1,1]. */
  decode(latent: Float32Array, b: number): Promise<Float32Array>;
}

export interface SampleOptions {
  condIds: Int32Array;
  uncondIds: Int32Array;
  h: number;
  w: number;
  steps: number;
  guidance: number;
  /** N(0,1) initial latents [4*h*w] (before init_noise_sigma). */
  noise: Float32Array;
  schedulerConfig: unknown;
}

/** Seeded N(0,1) latents [4, h, w]. */
export function initialNoise(seed: number, h: number, w: number): Float32Array {
  return mulberry32Random(0x9e3779b9 ^ seed).normals(4 * h * w);
}

/** Runs the denoising loop for one prompt; returns the final latents [4,h,w] (unscaled). */
export async function sampleLatents(nets: WorldNets, o: SampleOptions): Promise<Float32Array> {
  const scheduler = EulerDiscreteScheduler.fromConfig(o.schedulerConfig);
  scheduler.setTimesteps(o.steps);
  const cfg = o.guidance > 1;
  const ids = cfg ? Int32Array.from([...o.uncondIds, ...o.condIds]) : o.condIds;
  const b = cfg ? 2 : 1;
  const ehs = await nets.encode(ids, b);
  return denoise({
    scheduler,
    noise: o.noise,
    guidanceScale: o.guidance,
    predictNoise: (sample, timestep) => nets.unet(sample, timestep, ehs, b),
  });
}
