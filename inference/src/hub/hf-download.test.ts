import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { downloadHubModel, neededFiles, parseHubRef } from "./hf-download";

const tmp: string[] = [];
afterEach(() => {
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("hub model reference", () => {
  it("parses hf:ORG/REPO[@rev] and leaves paths alone", () => {
    expect(parseHubRef("hf:stabilityai/sd2-onnx")).toEqual({
      repo: "stabilityai/sd2-onnx",
      revision: "main",
    });
    expect(parseHubRef("hf:a/b@v1.0")).toEqual({ repo: "a/b", revision: "v1.0" });
    expect(parseHubRef("/models/sd2")).toBeUndefined();
    expect(() => parseHubRef("hf:no-slash")).toThrow(/hf:ORG\/REPO/);
  });

  it("keeps only the layout's files", () => {
    expect(
      neededFiles([
        "model_index.json",
        "README.md",
        "unet/model.onnx",
        "unet/weights.pb",
        "vae_encoder/model.onnx",
        "tokenizer/vocab.json",
        "safety_checker/model.onnx",
      ]),
    ).toEqual(["model_index.json", "unet/model.onnx", "unet/weights.pb", "tokenizer/vocab.json"]);
  });
});

describe("downloadHubModel with an injected fetch", () => {
  const files: Record<string, string> = {
    "model_index.json": '{"a":1}',
    "unet/model.onnx": "0123456789",
    "README.md": "ignored",
  };

  function fakeHub(calls: { url: string; range?: string }[]) {
    return async (url: string, init?: RequestInit): Promise<Response> => {
      const headers = new Headers(init?.headers);
      calls.push({ url, range: headers.get("range") ?? undefined });
      if (url === "https://hub.test/api/models/org/repo/revision/main") {
        return Response.json({
          sha: "abc123",
          siblings: Object.keys(files).map((rfilename) => ({ rfilename })),
        });
      }
      const m = /^https:\/\/hub\.test\/org\/repo\/resolve\/abc123\/(.+)$/.exec(url);
      if (!m || !(m[1] in files)) return new Response("nope", { status: 404 });
      const body = files[m[1]];
      const range = headers.get("range");
      if (range) {
        const from = Number(/bytes=(\d+)-/.exec(range)?.[1]);
        return new Response(body.slice(from), { status: 206 });
      }
      return new Response(body);
    };
  }

  it("downloads the needed files pinned to the listed commit, then resumes a partial file", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "bf-hub-"));
    tmp.push(cacheDir);
    const dir = join(cacheDir, "budgetfusion", "org--repo", "main");
    // A previous run left half of the UNet behind.
    mkdirSync(join(dir, "unet"), { recursive: true });
    writeFileSync(join(dir, "unet", "model.onnx.part"), "01234");
    const calls: { url: string; range?: string }[] = [];
    const out = await downloadHubModel(
      { repo: "org/repo", revision: "main" },
      { cacheDir, fetch: fakeHub(calls), endpoint: "https://hub.test" },
    );
    expect(out).toBe(dir);
    expect(readFileSync(join(dir, "model_index.json"), "utf8")).toBe('{"a":1}');
    expect(readFileSync(join(dir, "unet", "model.onnx"), "utf8")).toBe("0123456789");
    expect(calls.map((c) => [c.url.replace("https://hub.test", ""), c.range])).toEqual([
      ["/api/models/org/repo/revision/main", undefined],
      ["/org/repo/resolve/abc123/model_index.json", undefined],
      ["/org/repo/resolve/abc123/unet/model.onnx", "bytes=5-"],
    ]);
    // A second run finds every file complete and fetches nothing but the listing.
    calls.length = 0;
    await downloadHubModel(
      { repo: "org/repo", revision: "main" },
      { cacheDir, fetch: fakeHub(calls), endpoint: "https://hub.test" },
    );
    expect(calls).toHaveLength(1);
  });

  it("names the failing URL when the hub refuses", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "bf-hub-"));
    tmp.push(cacheDir);
    await expect(
      downloadHubModel(
        { repo: "org/missing", revision: "main" },
        { cacheDir, fetch: fakeHub([]), endpoint: "https://hub.test" },
      ),
    ).rejects.toThrow(/api\/models\/org\/missing.*404/);
  });
});
