import { describe, expect, it } from "vitest";
import { promptBucket, promptDigest } from "./canary-split";

describe("promptBucket", () => {
  it("is a fraction in [0, 1), the same for the same candidate and prompt", async () => {
    const a = await promptBucket("v2", "a red cube");
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(1);
    expect(await promptBucket("v2", "a red cube")).toBe(a);
  });

  it("reads the first 32 bits of sha256(candidate + newline + prompt)", async () => {
    const d = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode("v2\na red cube")),
    );
    const expected = (d[0] * 2 ** 24 + d[1] * 2 ** 16 + d[2] * 2 ** 8 + d[3]) / 2 ** 32;
    expect(await promptBucket("v2", "a red cube")).toBe(expected);
  });

  it("is spread evenly: 10 000 prompts put 10 % +- 1 point under 0.1", async () => {
    let under = 0;
    for (let i = 0; i < 10_000; i++) if ((await promptBucket("v2", `prompt ${i}`)) < 0.1) under++;
    expect(Math.abs(under / 10_000 - 0.1)).toBeLessThanOrEqual(0.01);
  });

  it("gives each candidate its own slice of prompts", async () => {
    const prompts = Array.from({ length: 2000 }, (_, i) => `p${i}`);
    const slice = async (v: string) =>
      new Set(
        (
          await Promise.all(prompts.map(async (p) => ((await promptBucket(v, p)) < 0.1 ? p : "")))
        ).filter(Boolean),
      );
    const [a, b] = [await slice("v2"), await slice("v3")];
    const shared = [...a].filter((p) => b.has(p)).length;
    // Independent 10 % slices share about 1 % of the prompts, not 10 %.
    expect(shared / prompts.length).toBeLessThan(0.03);
  });
});

describe("promptDigest", () => {
  it("is sha256 hex of the prompt", async () => {
    expect(await promptDigest("abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
});
