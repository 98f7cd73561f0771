/**
 * A minimal text-to-image loop over the world's networks (SPEC §2: Euler discrete scheduler,
 * classifier-free guidance on [uncond; cond], latents = N(0,1) * init_noise_sigma, image =
 * clamp(decoded / 2 + 0.5)). The GPU worker has its own pipeline; this one exists so the world's
 * builder and tests can check convergence without depending on it. The networks are passed in as
 * functions, so the same loop runs the TypeScript reference and the ONNX sessions.
 */
import { EulerDiscreteScheduler } from "@budgetfusion/shared/schedulers/euler-discrete";
import { mulberry32, normals } from "./world-spec";

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
  return normals(mulberry32(0x9e3779b9 ^ seed), 4 * h * w);
}

/** Runs the denoising loop for one prompt; returns the final latents [4,h,w] (unscaled). */
export async function sampleLatents(nets: WorldNets, o: SampleOptions): Promise<Float32Array> {
  const sched = EulerDiscreteScheduler.fromConfig(o.schedulerConfig);
  sched.setTimesteps(o.steps);
  const cfg = o.guidance > 1;
  const ids = cfg ? Int32Array.from([...o.uncondIds, ...o.condIds]) : o.condIds;
  const b = cfg ? 2 : 1;
  const ehs = await nets.encode(ids, b);
  const n = o.noise.length;
  let x: Float32Array = o.noise.map((v) => v * sched.initNoiseSigma);
  for (let i = 0; i < o.steps; i++) {
    const xin = sched.scaleModelInput(x, i);
    const batch = cfg ? Float32Array.from([...xin, ...xin]) : xin;
    const out = await nets.unet(batch, sched.timesteps[i], ehs, b);
    let eps = out;
    if (cfg) {
      eps = new Float32Array(n);
      for (let j = 0; j < n; j++) eps[j] = out[j] + o.guidance * (out[n + j] - out[j]);
    }
    x = sched.step(eps, i, x).prevSample;
  }
  return x;
}
