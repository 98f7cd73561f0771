/**
 * Hugging Face Hub download of a diffusers ONNX model (SPEC §2 layout) for
 * `--model hf:ORG/REPO[@rev]` or WORKER_MODEL_DIR=hf:..., into huggingface_hub's cache layout
 * (so the Python tools share it):
 *
 *   <cache>/hub/models--ORG--REPO/refs/<revision>             the commit <revision> resolved to
 *   <cache>/hub/models--ORG--REPO/blobs/<checksum>            file contents, named by checksum
 *   <cache>/hub/models--ORG--REPO/snapshots/<commit>/<path>   -> ../../blobs/<checksum>
 *
 * The folder a model loads from is keyed by commit, so a moved `main` gets a new snapshot and
 * never mixes two commits; unchanged files are shared through their blob. @huggingface/hub makes
 * the Hub calls (revision -> commit, the tree listing with checksums, the file URLs, Xet
 * storage); it neither verifies what it downloads nor resumes nor times out, so this module adds
 * that: every blob is checked against the listing (LFS files: sha256; others: the git blob sha1)
 * when it arrives and whenever a model is resolved (sha256 runs at ~1 GB/s here, ~3 s for SD2's
 * 3.5 GB, less than loading them into onnxruntime), a partial `<blob>.incomplete` continues with
 * a range request, and a server that sends nothing for `timeoutMs` fails with an error naming
 * it. fetch is injected so all of it is testable offline.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readlink, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { ModelLoadError, ValidationError } from "@budgetfusion/shared/errors";
import {
  downloadFile,
  getRepoFolderName,
  HubApiError,
  type ListFileEntry,
  listFiles,
  modelInfo,
} from "@huggingface/hub";

/** Folders (and top-level files) of the diffusers ONNX layout the worker uses. */
const NEEDED_PREFIXES = [
  "text_encoder/",
  "unet/",
  "vae_decoder/",
  "tokenizer/",
  "scheduler/",
] as const;
const NEEDED_FILES = new Set(["model_index.json"]);

/** Seconds a server may stay silent (before answering, or between two chunks of a body). */
const DEFAULT_TIMEOUT_MS = 60_000;

export interface HubModelRef {
  repo: string;
  revision: string;
}

/** Parses `hf:ORG/REPO[@rev]`; undefined for anything else (a local path). */
export function parseHubRef(spec: string): HubModelRef | undefined {
  if (!spec.startsWith("hf:")) return undefined;
  const m = /^hf:([A-Za-z0-9][\w.-]*\/[\w.-]+)(?:@([\w./-]+))?$/.exec(spec);
  if (!m) {
    throw new ValidationError(`model "${spec}" is not of the form hf:ORG/REPO[@revision]`, {
      field: "model",
    });
  }
  return { repo: m[1], revision: m[2] ?? "main" };
}

export type FetchLike = typeof fetch;

export interface DownloadOptions {
  /** Cache root (HF_HOME); the files land in <cacheDir>/hub/models--ORG--REPO/. */
  cacheDir: string;
  fetch?: FetchLike;
  /** Hub token for gated/private repos. */
  token?: string;
  endpoint?: string;
  /** Silence allowed before a response and between body chunks (default 60 s). */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** The files of `paths` the worker needs. */
export function neededFiles(paths: readonly string[]): string[] {
  return paths.filter((f) => NEEDED_FILES.has(f) || NEEDED_PREFIXES.some((p) => f.startsWith(p)));
}

/** What a file must hash to: the listing's LFS sha256, else its git blob sha1. */
interface Expected {
  path: string;
  checksum: string;
  size: number;
  kind: "sha256" | "git-sha1";
}

function expectedOf(e: ListFileEntry): Expected {
  if (e.lfs) return { path: e.path, checksum: e.lfs.oid, size: e.lfs.size, kind: "sha256" };
  if (!e.oid) throw new ModelLoadError(`hub: the listing gives no checksum for ${e.path}`);
  return { path: e.path, checksum: e.oid, size: e.size, kind: "git-sha1" };
}

/** The checksum of a file as `kind` computes it (git: sha1 of "blob <size>\0" + content). */
async function checksumOf(path: string, kind: Expected["kind"]): Promise<string> {
  const hash = createHash(kind === "sha256" ? "sha256" : "sha1");
  if (kind === "git-sha1") hash.update(`blob ${(await stat(path)).size}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function sizeOf(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => s.size,
    () => undefined,
  );
}

class HubTimeoutError extends Error {}

/**
 * fetch with the timeouts of the module header: the response must start within `ms`, and its
 * body may not pause longer than `ms` between chunks.
 */
function fetchWithTimeouts(fetchFn: FetchLike, ms: number): FetchLike {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const abort = new AbortController();
    const signal = init?.signal ? AbortSignal.any([init.signal, abort.signal]) : abort.signal;
    let timer: NodeJS.Timeout | undefined;
    const silent = (what: string) =>
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const err = new HubTimeoutError(`${url} sent no ${what} for ${ms / 1000} s`);
          abort.abort(err);
          reject(err);
        }, ms);
      });
    let res: Response;
    try {
      res = await Promise.race([fetchFn(input, { ...init, signal }), silent("response")]);
    } finally {
      clearTimeout(timer);
    }
    if (res.body === null) return res;
    const reader = res.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const chunk = await Promise.race([reader.read(), silent("data")]);
          if (chunk.done) controller.close();
          else controller.enqueue(chunk.value);
        } catch (err) {
          void reader.cancel(err).catch(() => {});
          controller.error(err);
        } finally {
          clearTimeout(timer);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
    const timed = new Response(body, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
    // The library names the URL in its errors and follows redirects by it.
    Object.defineProperty(timed, "url", { value: res.url || url });
    return timed;
  };
}

/** A library or network failure as a ModelLoadError naming what failed. */
function hubError(what: string, err: unknown): ModelLoadError {
  if (err instanceof ModelLoadError) return err;
  const detail =
    err instanceof HubApiError
      ? `${err.url || "the hub"} answered ${err.statusCode}: ${err.message}`
      : err instanceof Error
        ? err.message
        : String(err);
  return new ModelLoadError(`hub: ${what}: ${detail}`, { field: "model", cause: err });
}

interface HubContext {
  repo: string;
  params: { hubUrl?: string; fetch: FetchLike; accessToken?: string };
  repoDir: string;
  log?: (line: string) => void;
}

/** Downloads (or completes, or repairs) the model and returns its snapshot folder. */
export async function downloadHubModel(
  ref: HubModelRef,
  options: DownloadOptions,
): Promise<string> {
  const ctx: HubContext = {
    repo: ref.repo,
    params: {
      hubUrl: options.endpoint,
      fetch: fetchWithTimeouts(options.fetch ?? fetch, options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      accessToken: options.token,
    },
    repoDir: join(options.cacheDir, "hub", getRepoFolderName({ type: "model", name: ref.repo })),
    log: options.log,
  };
  const commit = await modelInfo({
    ...ctx.params,
    name: ref.repo,
    revision: ref.revision,
    additionalFields: ["sha"],
  }).then(
    (info) => info.sha,
    (err) => {
      throw hubError(`resolving ${ref.repo}@${ref.revision}`, err);
    },
  );
  if (!/^[0-9a-f]{40}$/.test(commit ?? ""))
    throw new ModelLoadError(`hub: ${ref.repo}@${ref.revision} resolved to no commit`, {
      field: "model",
    });
  if (ref.revision !== commit) {
    const refFile = join(ctx.repoDir, "refs", ref.revision);
    await mkdir(dirname(refFile), { recursive: true });
    await writeFile(refFile, commit);
  }
  const entries: ListFileEntry[] = [];
  try {
    for await (const e of listFiles({
      ...ctx.params,
      repo: { type: "model", name: ref.repo },
      revision: commit,
      recursive: true,
    }))
      if (e.type === "file") entries.push(e);
  } catch (err) {
    throw hubError(`listing ${ref.repo}@${commit}`, err);
  }
  const wanted = new Set(neededFiles(entries.map((e) => e.path)));
  if (!wanted.has("model_index.json")) {
    throw new ModelLoadError(`hub: ${ref.repo}@${ref.revision} has no model_index.json`, {
      field: "model",
    });
  }
  const snapshot = join(ctx.repoDir, "snapshots", commit);
  for (const e of entries.filter((x) => wanted.has(x.path))) {
    const expected = expectedOf(e);
    const blob = await ensureBlob(ctx, commit, expected);
    await linkInto(snapshot, expected.path, blob);
  }
  return snapshot;
}

/** The verified blob of a file: kept when its checksum matches, else downloaded again. */
async function ensureBlob(ctx: HubContext, commit: string, e: Expected): Promise<string> {
  const blob = join(ctx.repoDir, "blobs", e.checksum);
  if ((await sizeOf(blob)) !== undefined) {
    if ((await checksumOf(blob, e.kind)) === e.checksum) return blob;
    ctx.log?.(`hub: ${e.path} in the cache does not match its ${e.kind}; downloading it again`);
    await rm(blob);
  }
  await mkdir(dirname(blob), { recursive: true });
  const partial = `${blob}.incomplete`;
  for (let attempt = 0; ; attempt++) {
    const resumedFrom = await download(ctx, commit, e, partial);
    const got = await checksumOf(partial, e.kind);
    if (got === e.checksum) break;
    await rm(partial);
    // A resumed file may have been spliced wrongly (a server ignoring the range): start over once.
    if (resumedFrom > 0 && attempt === 0) continue;
    throw new ModelLoadError(
      `hub: ${ctx.repo}/${e.path} at ${commit} has ${e.kind} ${got}, the listing says ${e.checksum}`,
      { field: "model" },
    );
  }
  await rename(partial, blob);
  return blob;
}

/** Downloads `e` into `partial`, continuing what is there; returns the byte it resumed from. */
async function download(
  ctx: HubContext,
  commit: string,
  e: Expected,
  partial: string,
): Promise<number> {
  let have = (await sizeOf(partial)) ?? 0;
  if (have > e.size) {
    await rm(partial);
    have = 0;
  }
  if (have === e.size) return have;
  ctx.log?.(
    `hub: downloading ${ctx.repo}/${e.path} (${(e.size / 2 ** 20).toFixed(1)} MiB)${have > 0 ? ` from byte ${have}` : ""}`,
  );
  try {
    const file = await downloadFile({
      ...ctx.params,
      repo: { type: "model", name: ctx.repo },
      path: e.path,
      revision: commit,
    });
    if (file === null) throw new Error("not found");
    const body = (have > 0 ? file.slice(have) : file).stream() as NodeReadableStream;
    await pipeline(
      Readable.fromWeb(body),
      createWriteStream(partial, { flags: have > 0 ? "a" : "w" }),
    );
  } catch (err) {
    throw hubError(`downloading ${ctx.repo}/${e.path}`, err);
  }
  return have;
}

/** snapshots/<commit>/<path> as a relative symlink to its blob, as huggingface_hub writes it. */
async function linkInto(snapshot: string, path: string, blob: string): Promise<void> {
  const link = join(snapshot, path);
  const target = relative(dirname(link), blob);
  if ((await readlink(link).catch(() => undefined)) === target) return;
  await mkdir(dirname(link), { recursive: true });
  await rm(link, { force: true });
  await symlink(target, link);
}
