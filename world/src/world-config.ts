/**
 * The mini world's diffusers configuration files (scheduler, VAE, model index) and the sigma
 * lookup table the UNet uses to recover sigma from the timestep. The table comes from the shared
 * Euler scheduler itself (1000 linspace steps land exactly on the train timesteps), so the UNet's
 * sigma(t) is the scheduler's (SPEC §2).
 */
import { EulerDiscreteScheduler } from "@budgetfusion/shared/schedulers/euler-discrete";
import { VAE_SCALING_FACTOR } from "./world-spec";

/** SD's train schedule, epsilon prediction, trailing spacing (SPEC §2 recommends it for few steps). */
export const SCHEDULER_CONFIG = {
  _class_name: "EulerDiscreteScheduler",
  _diffusers_version: "0.36.0",
  beta_end: 0.012,
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  clip_sample: false,
  interpolation_type: "linear",
  num_train_timesteps: 1000,
  prediction_type: "epsilon",
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  timestep_spacing: "trailing",
  trained_betas: null,
  use_karras_sigmas: false,
} as const;

export const VAE_CONFIG = {
  scaling_factor: VAE_SCALING_FACTOR,
  latent_channels: 4,
  block_out_channels: [4],
  _note: "mini-world fixed linear decoder (docs/mini-world.md)",
} as const;

/**
 * Guidance for this world: 1 (conditional branch only). The conditional denoiser is already the
 * exact one of the prompt's distribution; CFG extrapolates away from the empty prompt's broad
 * prior, which saturates colours and makes every prompt converge slowly (docs/mini-world.md §5).
 */
export const RECOMMENDED_GUIDANCE = 1;

/** sigma(t) for t = 0..999, ascending, float32 values as the scheduler computes them. */
export function sigmaTable(): Float32Array {
  const s = EulerDiscreteScheduler.fromConfig({
    ...SCHEDULER_CONFIG,
    timestep_spacing: "linspace",
  });
  s.setTimesteps(SCHEDULER_CONFIG.num_train_timesteps);
  const out = new Float32Array(SCHEDULER_CONFIG.num_train_timesteps);
  s.timesteps.forEach((t, i) => {
    out[t] = s.sigmas[i];
  });
  return out;
}
