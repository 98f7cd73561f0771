import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bundleVersionDigest } from "./bundle-stage";

describe("bundleVersionDigest", () => {
  const dir = mkdtempSync(join(tmpdir(), "bf-version-"));
  const files = Object.fromEntries(
    ["lsnr", "dsim", "iclip"].map((m) => {
      const path = join(dir, `${m}.onnx`);
      writeFileSync(path, `model ${m}`);
      return [m, path];
    }),
  );
  const price = { lambda: 0.002, uniform_steps: 26 };

  it("names the same data, models and price alike, and any change differently", async () => {
    const base = await bundleVersionDigest("d1", files, price);
    expect(base).toMatch(/^[0-9a-f]{8}$/);
    expect(await bundleVersionDigest("d1", files, { ...price })).toBe(base);
    expect(await bundleVersionDigest("d2", files, price)).not.toBe(base);
    expect(await bundleVersionDigest("d1", files, { ...price, lambda: 0.003 })).not.toBe(base);
    expect(await bundleVersionDigest("d1", files, undefined)).not.toBe(base);
    // A model re-exported on the same data (another envelope, say) is another bundle.
    writeFileSync(files.lsnr, "model lsnr, re-exported");
    expect(await bundleVersionDigest("d1", files, price)).not.toBe(base);
  });
});
