import { describe, expect, it } from "vitest";
import { ConfigError, ShapeError, ValidationError } from "../errors";
import { EulerDiscreteScheduler } from "./euler-discrete";
import { parseSchedulerConfig } from "./scheduler-config";

const SD2 = {
  _class_name: "EulerDiscreteScheduler",
  beta_end: 0.012,
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  clip_sample: false,
  num_train_timesteps: 1000,
  prediction_type: "v_prediction",
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
};

describe("parseSchedulerConfig", () => {
  it("applies diffusers defaults and reports ignored and defaulted keys", () => {
    const { config, ignoredKeys, unknownKeys, defaultedKeys } = parseSchedulerConfig(SD2);
    expect(config.timestep_spacing).toBe("linspace");
    expect(config.use_karras_sigmas).toBe(false);
    expect(ignoredKeys.sort()).toEqual(
      ["_class_name", "clip_sample", "set_alpha_to_one", "skip_prk_steps"].sort(),
    );
    expect(unknownKeys).toEqual([]);
    expect(defaultedKeys).toContain("timestep_spacing");
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("flags keys no scheduler writes as unknown", () => {
    expect(parseSchedulerConfig({ ...SD2, timestep_spacng: "trailing" }).unknownKeys).toEqual([
      "timestep_spacng",
    ]);
  });

  it.each([
    ["timestep_spacing", "karras"],
    ["prediction_type", "flow"],
    ["beta_schedule", "sigmoid"],
    ["timestep_type", "continuous"],
    ["rescale_betas_zero_snr", true],
    ["use_exponential_sigmas", true],
    ["interpolation_type", "log_linear"],
    ["steps_offset", -1],
    ["num_train_timesteps", 1.5],
  ])("rejects %s = %j with a ConfigError naming the key", (key, value) => {
    const attempt = () => parseSchedulerConfig(SD2, { [key]: value });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      expect((error as ConfigError).field).toBe(key);
      expect((error as ConfigError).message).toContain(key);
    }
  });

  it("rejects trained_betas of the wrong length", () => {
    expect(() => parseSchedulerConfig({ ...SD2, trained_betas: [0.1, 0.2] })).toThrow(
      /trained_betas/,
    );
  });

  it("rejects a non-object config", () => {
    expect(() => parseSchedulerConfig([1, 2])).toThrow(ConfigError);
  });
});

describe("EulerDiscreteScheduler", () => {
  it("rounds trailing timesteps half to even as numpy does", () => {
    // N/n = 62.5: arange(1000, 0, -62.5) = 1000, 937.5, 875, 812.5, ... ; round half to even
    // gives 938 (937.5 -> 938) and 812 (812.5 -> 812); minus 1.
    const s = EulerDiscreteScheduler.fromConfig(SD2, { timestep_spacing: "trailing" });
    s.setTimesteps(16);
    expect(s.timesteps.slice(0, 4)).toEqual([999, 937, 874, 811]);
    expect(s.timesteps.at(-1)).toBe(61);
  });

  it("leading spacing adds steps_offset and scales the initial noise", () => {
    const s = EulerDiscreteScheduler.fromConfig(SD2, { timestep_spacing: "leading" });
    s.setTimesteps(4);
    expect(s.timesteps).toEqual([751, 501, 251, 1]);
    expect(s.initNoiseSigma).toBeCloseTo(Math.sqrt(s.sigmas[0] ** 2 + 1), 5);
  });

  it("trailing starts at sigma_max even for one step (SPEC §2)", () => {
    const s = EulerDiscreteScheduler.fromConfig(SD2, { timestep_spacing: "trailing" });
    s.setTimesteps(1);
    expect(s.timesteps).toEqual([999]);
    expect(s.sigmas[0]).toBeGreaterThan(14);
    expect(s.sigmas[1]).toBe(0);
  });

  it("a 'sample' prediction steps straight to the prediction at the last step", () => {
    const s = EulerDiscreteScheduler.fromConfig(SD2, { prediction_type: "sample" });
    s.setTimesteps(3);
    const x = new Float32Array([1, -2, 3]);
    const target = new Float32Array([0.5, 0.25, -1]);
    const out = s.step(target, 2, x);
    // x + (x - x0) / sigma * (0 - sigma) = x0, up to float32 rounding.
    for (const [i, v] of out.prevSample.entries()) expect(v).toBeCloseTo(target[i], 6);
  });

  it("refuses to step before setTimesteps, out of range, or with mismatched shapes", () => {
    const s = EulerDiscreteScheduler.fromConfig(SD2);
    expect(() => s.initNoiseSigma).toThrow(ConfigError);
    s.setTimesteps(2);
    expect(() => s.step(new Float32Array(2), 2, new Float32Array(2))).toThrow(ValidationError);
    expect(() => s.step(new Float32Array(3), 0, new Float32Array(2))).toThrow(ShapeError);
    expect(() => s.setTimesteps(0)).toThrow(ValidationError);
    expect(() => s.setTimesteps(1001)).toThrow(ValidationError);
  });
});
