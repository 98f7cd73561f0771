/**
 * Publishing a run's bundle into the committed bundles folder: a verified copy, a no-op when
 * the same bundle is there already, a refusal for another bundle under the same version, a
 * refusal for a corrupt one, and the DEFAULT file only when asked.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseDefaultBundle } from "@budgetfusion/shared/predictor/default-bundle";
import { afterAll, describe, expect, it } from "vitest";
import { publishBundle } from "./publish-bundle";

const COMMITTED = resolve(import.meta.dirname, "../../../artifacts/bundles/mini-world-30107bce");
const tmp = mkdtempSync(join(tmpdir(), "bf-publish-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A run's copy of a real bundle, as the bundle stage leaves it in runs/<name>/bundles/. */
function runBundle(name: string): string {
  const dir = join(tmp, name, "mini-world-30107bce");
  cpSync(COMMITTED, dir, { recursive: true });
  return dir;
}

describe("publishBundle", () => {
  it("copies the bundle, verified, and leaves DEFAULT alone unless asked", async () => {
    const published = join(tmp, "published");
    const from = runBundle("run1");
    const r = await publishBundle(from, { bundlesDir: published });
    expect(r).toEqual({
      dir: join(published, "mini-world-30107bce"),
      version: "mini-world-30107bce",
      copied: true,
      defaultSet: false,
    });
    for (const f of ["manifest.json", "predictor/lsnr.onnx", "embedding/tokenizer.json"])
      expect(readFileSync(join(r.dir, f)).equals(readFileSync(join(from, f))), f).toBe(true);
    expect(existsSync(join(published, "DEFAULT"))).toBe(false);

    // Again, now naming it the default: nothing to copy, DEFAULT written.
    const again = await publishBundle(from, { bundlesDir: published, setDefault: true });
    expect(again.copied).toBe(false);
    expect(parseDefaultBundle(readFileSync(join(published, "DEFAULT"), "utf8"))).toBe(
      "mini-world-30107bce",
    );
  });

  it("refuses another bundle under a published version, and a corrupt bundle", async () => {
    const published = join(tmp, "published2");
    await publishBundle(runBundle("run2"), { bundlesDir: published });
    const other = runBundle("run3");
    const manifest = JSON.parse(readFileSync(join(other, "manifest.json"), "utf8"));
    manifest.created_at = "2020-01-01T00:00:00.000Z";
    writeFileSync(join(other, "manifest.json"), JSON.stringify(manifest));
    await expect(publishBundle(other, { bundlesDir: published })).rejects.toThrow(
      /--publish: .* already holds another bundle named mini-world-30107bce; pass --version/,
    );

    const corrupt = runBundle("run4");
    writeFileSync(join(corrupt, "predictor", "dsim.onnx"), "not the model");
    await expect(publishBundle(corrupt, { bundlesDir: join(tmp, "p3") })).rejects.toThrow(
      /predictor\/dsim.onnx does not match its sha256/,
    );
    expect(existsSync(join(tmp, "p3", "mini-world-30107bce"))).toBe(false);
  });
});
