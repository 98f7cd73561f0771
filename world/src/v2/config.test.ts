import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { worldV2Config } from "./config";
import { waveletBasis } from "./wavelet";

const committed = join(dirname(fileURLToPath(import.meta.url)), "world-v2.config.json");
const dir = mkdtempSync(join(tmpdir(), "world-v2-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function withEdit(edit: (c: Record<string, Record<string, unknown>>) => void): string {
  const c = JSON.parse(readFileSync(committed, "utf8"));
  edit(c);
  const path = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(c));
  return path;
}

describe("world v2 config", () => {
  it("loads the committed file with its calibration block", () => {
    const cfg = worldV2Config();
    expect(cfg.mixture.K).toBe(2);
    expect(cfg.calibration.param_std).toHaveLength(17);
  });

  it("refuses a bad edit naming the field", () => {
    expect(() => worldV2Config(withEdit((c) => (c.latent.size = 32)))).toThrow(/latent.*size|size/);
    expect(() => worldV2Config(withEdit((c) => (c.decoder.soft_limit = -1)))).toThrow(/soft_limit/);
    // Blocks the graphs do not build cannot be given a weight.
    expect(() =>
      worldV2Config(withEdit((c) => ((c.dreamsim.weights as Record<string, number>).layout = 1))),
    ).toThrow(/layout/);
  });
});

describe("wavelet basis", () => {
  it("is orthonormal with 4 detail levels and one approximation", () => {
    const b = waveletBasis(16, 4);
    let worst = 0;
    for (let i = 0; i < 256; i += 5)
      for (let j = 0; j < 256; j++) {
        let d = 0;
        for (let k = 0; k < 256; k++) d += b.matrix[i * 256 + k] * b.matrix[j * 256 + k];
        worst = Math.max(worst, Math.abs(d - (i === j ? 1 : 0)));
      }
    expect(worst).toBeLessThan(1e-12);
    const counts = [1, 2, 3, 4, 5].map((l) => b.level.filter((v) => v === l).length);
    expect(counts).toEqual([192, 48, 12, 3, 1]);
  });
});
