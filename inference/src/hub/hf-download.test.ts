import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { downloadHubModel, neededFiles, parseHubRef } from "./hf-download";

const tmp: string[] = [];
afterEach(() => {
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
});
function cacheDir() {
  const d = mkdtempSync(join(tmpdir(), "bf-hub-"));
  tmp.push(d);
  return d;
}

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

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const gitSha1 = (s: string) =>
  createHash("sha1")
    .update(`blob ${Buffer.byteLength(s)}\0${s}`)
    .digest("hex");
const COMMIT_1 = "1".repeat(40);
const COMMIT_2 = "2".repeat(40);
/** Stored with Git LFS on the fake hub (checked by sha256); the rest are plain git files. */
const LFS = new Set(["unet/model.onnx"]);

interface Call {
  path: string;
  range?: string;
}

/**
 * The Hub's HTTP API as @huggingface/hub calls it (revision info, tree listing, resolve with
 * ranges), over two commits; `main` points at whichever `state.main` names. `serve` may alter
 * or stall what a file download sends.
 */
function fakeHub() {
  const commits: Record<string, Record<string, string>> = {
    [COMMIT_1]: {
      "model_index.json": '{"a":1}',
      "unet/model.onnx": "0123456789",
      "README.md": "not needed",
    },
    [COMMIT_2]: { "model_index.json": '{"a":1}', "unet/model.onnx": "ABCDEFGHIJKLMNOP" },
  };
  const state = {
    main: COMMIT_1,
    calls: [] as Call[],
    /** Replaces the body of a file download (path -> bytes or a never-ending stream). */
    serve: {} as Record<string, string | "stall">,
    hangListing: false,
    /** Answer range requests with the whole file (some proxies do). */
    ignoreRange: false,
  };
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const range = new Headers(init?.headers).get("range") ?? undefined;
    state.calls.push({ path: url.pathname, range });
    const info = /^\/api\/models\/org\/repo\/revision\/([^/]+)$/.exec(url.pathname);
    if (info) {
      const rev = decodeURIComponent(info[1]);
      const sha = rev === "main" ? state.main : rev in commits ? rev : undefined;
      if (sha === undefined) return Response.json({ error: "Revision not found" }, { status: 404 });
      return Response.json({ _id: "x", id: "org/repo", sha });
    }
    const tree = /^\/api\/models\/org\/repo\/tree\/([0-9a-f]{40})$/.exec(url.pathname);
    if (tree) {
      if (state.hangListing) return new Promise<Response>(() => {});
      return Response.json(
        Object.entries(commits[tree[1]]).map(([path, body]) => ({
          type: "file",
          path,
          size: LFS.has(path) ? 134 : body.length,
          oid: gitSha1(LFS.has(path) ? `lfs pointer of ${path}` : body),
          ...(LFS.has(path)
            ? { lfs: { oid: sha256(body), size: body.length, pointerSize: 134 } }
            : {}),
        })),
      );
    }
    const file = /^\/org\/repo\/resolve\/([0-9a-f]{40})\/(.+)$/.exec(url.pathname);
    const body = file ? commits[file[1]]?.[file[2]] : undefined;
    if (!file || body === undefined)
      return new Response("nope", { status: 404, headers: { "X-Error-Code": "EntryNotFound" } });
    const etag = `"${LFS.has(file[2]) ? sha256(body) : gitSha1(body)}"`;
    const served = state.serve[file[2]] ?? body;
    const m =
      range && !(state.ignoreRange && range !== "bytes=0-0")
        ? /bytes=(\d+)-(\d*)/.exec(range)
        : null;
    if (served === "stall" && !(m && m[1] === "0" && m[2] === "0")) {
      // Headers and a first chunk, then silence.
      const stream = new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(body.slice(0, 2)));
        },
      });
      return new Response(stream, { status: 200, headers: { etag } });
    }
    const text = served === "stall" ? body : served;
    if (m) {
      const from = Number(m[1]);
      const to = m[2] === "" ? text.length - 1 : Number(m[2]);
      return new Response(text.slice(from, to + 1), {
        status: 206,
        headers: { "content-range": `bytes ${from}-${to}/${text.length}`, etag },
      });
    }
    return new Response(text, { headers: { etag } });
  }) as typeof fetch;
  return { state, fetchImpl };
}

const repoDir = (cache: string) => join(cache, "hub", "models--org--repo");
const downloads = (calls: Call[]) =>
  calls
    .filter((c) => c.path.includes("/resolve/") && c.range !== "bytes=0-0")
    .map(
      (c) =>
        `${c.path.replace(/^\/org\/repo\/resolve\//, "").replace(/^(.{4}).{36}/, "$1")}${c.range ? ` ${c.range}` : ""}`,
    );

describe("downloadHubModel with an injected fetch", () => {
  it("downloads the needed files into a snapshot folder keyed by commit, blobs by checksum", async () => {
    const cache = cacheDir();
    const hub = fakeHub();
    const opts = { cacheDir: cache, fetch: hub.fetchImpl, endpoint: "https://hub.test" };
    const dir = await downloadHubModel({ repo: "org/repo", revision: "main" }, opts);
    expect(dir).toBe(join(repoDir(cache), "snapshots", COMMIT_1));
    expect(readFileSync(join(dir, "model_index.json"), "utf8")).toBe('{"a":1}');
    expect(readFileSync(join(dir, "unet", "model.onnx"), "utf8")).toBe("0123456789");
    expect(existsSync(join(dir, "README.md"))).toBe(false);
    // huggingface_hub's layout: refs/<rev> = commit, snapshot files link to blobs/<checksum>.
    expect(readFileSync(join(repoDir(cache), "refs", "main"), "utf8")).toBe(COMMIT_1);
    expect(readlinkSync(join(dir, "unet", "model.onnx"))).toBe(
      join("..", "..", "..", "blobs", sha256("0123456789")),
    );
    expect(readlinkSync(join(dir, "model_index.json"))).toBe(
      join("..", "..", "blobs", gitSha1('{"a":1}')),
    );

    // A second run verifies the cache and downloads nothing.
    hub.state.calls.length = 0;
    expect(await downloadHubModel({ repo: "org/repo", revision: "main" }, opts)).toBe(dir);
    expect(downloads(hub.state.calls)).toEqual([]);
  });

  it("a moved main downloads into a new snapshot; the old one keeps its commit's files", async () => {
    const cache = cacheDir();
    const hub = fakeHub();
    const opts = { cacheDir: cache, fetch: hub.fetchImpl, endpoint: "https://hub.test" };
    const first = await downloadHubModel({ repo: "org/repo", revision: "main" }, opts);
    hub.state.main = COMMIT_2;
    hub.state.calls.length = 0;
    const second = await downloadHubModel({ repo: "org/repo", revision: "main" }, opts);
    expect(second).toBe(join(repoDir(cache), "snapshots", COMMIT_2));
    expect(readFileSync(join(second, "unet", "model.onnx"), "utf8")).toBe("ABCDEFGHIJKLMNOP");
    expect(readFileSync(join(first, "unet", "model.onnx"), "utf8")).toBe("0123456789");
    expect(readFileSync(join(repoDir(cache), "refs", "main"), "utf8")).toBe(COMMIT_2);
    // Only the changed file is fetched; the unchanged model_index.json shares its blob.
    expect(downloads(hub.state.calls)).toEqual(["2222/unet/model.onnx"]);
  });

  /** A previous run left half of the UNet's blob; returns the calls the resumed run made. */
  async function resumeHalfDownload(ignoreRange: boolean) {
    const cache = cacheDir();
    const hub = fakeHub();
    hub.state.ignoreRange = ignoreRange;
    mkdirSync(join(repoDir(cache), "blobs"), { recursive: true });
    writeFileSync(join(repoDir(cache), "blobs", `${sha256("0123456789")}.incomplete`), "01234");
    const dir = await downloadHubModel(
      { repo: "org/repo", revision: "main" },
      { cacheDir: cache, fetch: hub.fetchImpl, endpoint: "https://hub.test" },
    );
    expect(readFileSync(join(dir, "unet", "model.onnx"), "utf8")).toBe("0123456789");
    return downloads(hub.state.calls);
  }

  it("resumes a partial blob with a range request", async () => {
    expect(await resumeHalfDownload(false)).toEqual([
      "1111/model_index.json",
      "1111/unet/model.onnx bytes=5-9",
    ]);
  });

  it("starts over when a server ignores the range of a resumed download", async () => {
    expect(await resumeHalfDownload(true)).toEqual([
      "1111/model_index.json",
      "1111/unet/model.onnx bytes=5-9",
      "1111/unet/model.onnx",
    ]);
  });

  it("detects a corrupted file in the cache and downloads it again", async () => {
    const cache = cacheDir();
    const hub = fakeHub();
    const lines: string[] = [];
    const opts = {
      cacheDir: cache,
      fetch: hub.fetchImpl,
      endpoint: "https://hub.test",
      log: (l: string) => lines.push(l),
    };
    const dir = await downloadHubModel({ repo: "org/repo", revision: "main" }, opts);
    // Same size, other bytes: only a checksum tells.
    writeFileSync(join(repoDir(cache), "blobs", sha256("0123456789")), "0123456780");
    hub.state.calls.length = 0;
    await downloadHubModel({ repo: "org/repo", revision: "main" }, opts);
    expect(readFileSync(join(dir, "unet", "model.onnx"), "utf8")).toBe("0123456789");
    expect(downloads(hub.state.calls)).toEqual(["1111/unet/model.onnx"]);
    expect(lines).toContain(
      "hub: unet/model.onnx in the cache does not match its sha256; downloading it again",
    );
  });

  it("refuses a download that does not match the listing's checksum", async () => {
    const cache = cacheDir();
    const hub = fakeHub();
    hub.state.serve["unet/model.onnx"] = "0123456780";
    await expect(
      downloadHubModel(
        { repo: "org/repo", revision: "main" },
        { cacheDir: cache, fetch: hub.fetchImpl, endpoint: "https://hub.test" },
      ),
    ).rejects.toThrow(
      new RegExp(
        `org/repo/unet/model.onnx at ${COMMIT_1} has sha256 ${sha256("0123456780")}, the listing says ${sha256("0123456789")}`,
      ),
    );
    expect(existsSync(join(repoDir(cache), "blobs", sha256("0123456789")))).toBe(false);
    expect(existsSync(join(repoDir(cache), "blobs", `${sha256("0123456789")}.incomplete`))).toBe(
      false,
    );
  });

  it("times out a hung server with an error naming it", async () => {
    const hub = fakeHub();
    const opts = {
      cacheDir: cacheDir(),
      fetch: hub.fetchImpl,
      endpoint: "https://hub.test",
      timeoutMs: 200,
    };
    hub.state.hangListing = true;
    await expect(downloadHubModel({ repo: "org/repo", revision: "main" }, opts)).rejects.toThrow(
      /hub: listing org\/repo@1{40}: https:\/\/hub\.test\/api\/models\/org\/repo\/tree\/1{40}\?recursive=true&expand=false sent no response for 0\.2 s/,
    );
    hub.state.hangListing = false;
    hub.state.serve["unet/model.onnx"] = "stall";
    await expect(downloadHubModel({ repo: "org/repo", revision: "main" }, opts)).rejects.toThrow(
      /hub: downloading org\/repo\/unet\/model\.onnx: .*sent no data for 0\.2 s/,
    );
  });

  it("names the failing URL when the hub refuses", async () => {
    await expect(
      downloadHubModel(
        { repo: "org/repo", revision: "nope" },
        { cacheDir: cacheDir(), fetch: fakeHub().fetchImpl, endpoint: "https://hub.test" },
      ),
    ).rejects.toThrow(
      /resolving org\/repo@nope: .*revision\/nope.* answered 404: Revision not found/,
    );
  });
});
