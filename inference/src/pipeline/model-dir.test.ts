import { chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixturePath } from "@budgetfusion/test-helpers/fixtures";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_VAE_SCALING_FACTOR, loadModelDir } from "./model-dir";

// Tests may read the fixtures; the worker itself is always given a folder.
const TINY = fixturePath("tiny-sd2");
const tmp: string[] = [];
afterEach(() => {
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
});

function copyConfigs(): string {
  const dir = mkdtempSync(join(tmpdir(), "bf-model-"));
  tmp.push(dir);
  for (const f of [
    "model_index.json",
    "scheduler/scheduler_config.json",
    "vae_decoder/config.json",
    "unet/config.json",
  ]) {
    cpSync(join(TINY, f), join(dir, f), { recursive: true });
    // The fixtures may be read-only (CI copies shared/ without write bits) and cpSync keeps the
    // mode; the tests rewrite their copies, which only root could do to a read-only file.
    chmodSync(join(dir, f), 0o644);
  }
  return dir;
}

describe("loadModelDir", () => {
  it("reads tiny-sd2's configuration", async () => {
    const m = await loadModelDir(TINY);
    expect(m.id).toBe("tiny-sd2");
    expect(m.vaeScalingFactor).toBe(0.18215);
    expect(m.vaeScaleFactor).toBe(8); // 4 VAE blocks
    expect(m.latentChannels).toBe(4);
    expect(m.defaultImageSize).toBe(64); // sample_size 8 x 8
    expect(m.schedulerConfig.prediction_type).toBe("v_prediction");
    expect(Object.isFrozen(m.schedulerConfig)).toBe(true);
  });

  it("takes diffusers' defaults when the optional configs are absent", async () => {
    const dir = copyConfigs();
    rmSync(join(dir, "vae_decoder"), { recursive: true });
    rmSync(join(dir, "unet"), { recursive: true });
    const m = await loadModelDir(dir, "custom-id");
    expect(m.id).toBe("custom-id");
    expect(m.vaeScalingFactor).toBe(DEFAULT_VAE_SCALING_FACTOR);
    expect(m.vaeScaleFactor).toBe(8);
    expect(m.defaultImageSize).toBe(512);
  });

  it("names the missing file or the bad key", async () => {
    const dir = copyConfigs();
    writeFileSync(join(dir, "vae_decoder", "config.json"), '{"scaling_factor": -1}');
    await expect(loadModelDir(dir)).rejects.toMatchObject({
      code: "invalid_config",
      field: "vae_decoder/config.json:scaling_factor",
    });
    writeFileSync(join(dir, "model_index.json"), '{"unet": ["diffusers", "OnnxRuntimeModel"]}');
    await expect(loadModelDir(dir)).rejects.toMatchObject({
      field: "model_index.json:text_encoder",
    });
    rmSync(join(dir, "scheduler"), { recursive: true });
    writeFileSync(join(dir, "model_index.json"), JSON.stringify({}));
    await expect(loadModelDir(join(dir, "nope"))).rejects.toMatchObject({
      code: "model_load_failed",
      field: "model_index.json",
    });
  });
});
