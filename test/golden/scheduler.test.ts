/**
 * Parity of shared/src/schedulers with diffusers' EulerDiscreteScheduler on every case of
 * fixtures/refs-public/scheduler.json (72 schedules, 12 trajectories). Tolerance: 1e-5 relative —
 * element-wise for schedule values, relative to the tensor's max |value| for samples (single
 * float32 ulps near zero would otherwise dominate an element-wise ratio).
 */

import { EulerDiscreteScheduler } from "@budgetfusion/shared/schedulers/euler-discrete";
import {
  type ArrayRef,
  fixturePath,
  maxRelDiff,
  maxScaledDiff,
  readF32,
  readJson,
} from "@budgetfusion/test-helpers/fixtures";
import { describe, expect, it } from "vitest";

interface ScheduleCase {
  timestep_spacing: string;
  use_karras_sigmas: boolean;
  num_inference_steps: number;
  timesteps: number[];
  sigmas: number[];
  init_noise_sigma: number;
}
interface Trajectory {
  prediction_type: string;
  timestep_spacing: string;
  num_inference_steps: number;
  init: ArrayRef;
  model_outputs: ArrayRef;
  scaled_inputs: ArrayRef;
  prev_samples: ArrayRef;
}
const ref = readJson<{
  config: Record<string, unknown>;
  cases: ScheduleCase[];
  trajectories: Trajectory[];
}>("refs-public", "scheduler.json");
const dir = fixturePath("refs-public");
const TOL = 1e-5;

describe("EulerDiscreteScheduler schedules (72 cases)", () => {
  it("covers every fixture case", () => expect(ref.cases).toHaveLength(72));
  it.each(
    ref.cases.map(
      (c) =>
        [
          `${c.timestep_spacing} karras=${c.use_karras_sigmas} n=${c.num_inference_steps}`,
          c,
        ] as const,
    ),
  )("%s", (_name, c) => {
    const s = EulerDiscreteScheduler.fromConfig(ref.config, {
      timestep_spacing: c.timestep_spacing,
      use_karras_sigmas: c.use_karras_sigmas,
    });
    s.setTimesteps(c.num_inference_steps);
    expect(maxRelDiff(s.timesteps, c.timesteps, 1e-3)).toBeLessThanOrEqual(TOL);
    expect(maxRelDiff(s.sigmas, c.sigmas)).toBeLessThanOrEqual(TOL);
    expect(maxRelDiff([s.initNoiseSigma], [c.init_noise_sigma])).toBeLessThanOrEqual(TOL);
  });
});

describe("EulerDiscreteScheduler trajectories (12 cases)", () => {
  it("covers every fixture trajectory", () => expect(ref.trajectories).toHaveLength(12));
  it.each(
    ref.trajectories.map(
      (t) => [`${t.prediction_type} ${t.timestep_spacing} n=${t.num_inference_steps}`, t] as const,
    ),
  )("%s", (_name, t) => {
    const s = EulerDiscreteScheduler.fromConfig(ref.config, {
      prediction_type: t.prediction_type,
      timestep_spacing: t.timestep_spacing,
    });
    s.setTimesteps(t.num_inference_steps);
    const init = readF32(dir, t.init).data;
    const outputs = readF32(dir, t.model_outputs).data;
    const scaled = readF32(dir, t.scaled_inputs).data;
    const prev = readF32(dir, t.prev_samples).data;
    const n = init.length;
    // `init` is the N(0,1) draw; the loop starts from init * init_noise_sigma.
    let x: Float32Array = init.map((v) => v * s.initNoiseSigma);
    for (let i = 0; i < t.num_inference_steps; i++) {
      const slice = (a: Float32Array) => a.subarray(i * n, (i + 1) * n);
      // Each step is checked from the reference sample so errors cannot compound silently.
      expect(maxScaledDiff(s.scaleModelInput(x, i), slice(scaled))).toBeLessThanOrEqual(TOL);
      const next = s.step(slice(outputs), i, x).prevSample;
      expect(maxScaledDiff(next, slice(prev))).toBeLessThanOrEqual(TOL);
      x = next;
    }
  });
});
