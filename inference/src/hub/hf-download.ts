/**
 * Hugging Face Hub download of a diffusers ONNX model (SPEC §2 layout) into a local cache, for
 * `--model hf:ORG/REPO[@rev]` or WORKER_MODEL_DIR=hf:...: lists the repo's files through the Hub
 * API, fetches the ones the pipeline needs from https://huggingface.co/ORG/REPO/resolve/REV/PATH
 * and returns the folder, which then loads like any local model. Resumable by file: finished files
 * are kept, a partial `.part` file continues with an HTTP Range request. fetch is injected so the
 * logic is testable offline.
 */
import { appendFile, mkdir, rename, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ModelLoadError, ValidationError } from "@budgetfusion/shared/errors";
import { z } from "zod";

const HF_ENDPOINT = "https://huggingface.co";

/** Folders (and top-level files) of the diffusers ONNX layout the worker uses. */
const NEEDED_PREFIXES = [
  "text_encoder/",
  "unet/",
  "vae_decoder/",
  "tokenizer/",
  "scheduler/",
] as const;
const NEEDED_FILES = new Set(["model_index.json"]);

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

const repoInfoSchema = z.looseObject({
  sha: z.string().optional(),
  siblings: z.array(z.looseObject({ rfilename: z.string() })),
});

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

export interface DownloadOptions {
  /** Cache root (HF_HOME-style); files land in <cacheDir>/budgetfusion/<org>--<repo>/<rev>/. */
  cacheDir: string;
  fetch?: FetchLike;
  /** Hub token for gated/private repos. */
  token?: string;
  endpoint?: string;
  log?: (line: string) => void;
}

/** The files of `siblings` the worker needs. */
export function neededFiles(siblings: readonly string[]): string[] {
  return siblings.filter(
    (f) => NEEDED_FILES.has(f) || NEEDED_PREFIXES.some((p) => f.startsWith(p)),
  );
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/** Downloads (or completes) the model and returns its local folder. */
export async function downloadHubModel(
  ref: HubModelRef,
  options: DownloadOptions,
): Promise<string> {
  const fetchFn = options.fetch ?? fetch;
  const endpoint = options.endpoint ?? HF_ENDPOINT;
  const headers: Record<string, string> = options.token
    ? { authorization: `Bearer ${options.token}` }
    : {};
  const dir = join(
    options.cacheDir,
    "budgetfusion",
    ref.repo.replace("/", "--"),
    ref.revision.replaceAll("/", "--"),
  );
  const infoUrl = `${endpoint}/api/models/${ref.repo}/revision/${encodeURIComponent(ref.revision)}`;
  const infoRes = await fetchFn(infoUrl, { headers });
  if (!infoRes.ok) {
    throw new ModelLoadError(`hub: ${infoUrl} answered ${infoRes.status}`, { field: "model" });
  }
  const info = repoInfoSchema.safeParse(await infoRes.json());
  if (!info.success) {
    throw new ModelLoadError(`hub: unexpected repository listing from ${infoUrl}`, {
      field: "model",
    });
  }
  const files = neededFiles(info.data.siblings.map((s) => s.rfilename));
  if (!files.includes("model_index.json")) {
    throw new ModelLoadError(`hub: ${ref.repo}@${ref.revision} has no model_index.json`, {
      field: "model",
    });
  }
  // Pin the commit so every file comes from the same revision.
  const rev = info.data.sha ?? ref.revision;
  for (const file of files) {
    await downloadFile(`${endpoint}/${ref.repo}/resolve/${rev}/${file}`, join(dir, file), {
      fetchFn,
      headers,
      log: options.log,
    });
  }
  return dir;
}

async function downloadFile(
  url: string,
  dest: string,
  ctx: { fetchFn: FetchLike; headers: Record<string, string>; log?: (line: string) => void },
): Promise<void> {
  if ((await sizeOf(dest)) !== undefined) return; // finished earlier
  await mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const have = (await sizeOf(part)) ?? 0;
  const headers = have > 0 ? { ...ctx.headers, range: `bytes=${have}-` } : ctx.headers;
  const res = await ctx.fetchFn(url, { headers, redirect: "follow" });
  if (res.status === 416 && have > 0) {
    await rename(part, dest); // the partial file was already complete
    return;
  }
  if (!res.ok || res.body === null) {
    throw new ModelLoadError(`hub: ${url} answered ${res.status}`, { field: "model" });
  }
  ctx.log?.(`downloading ${url}${have > 0 && res.status === 206 ? ` from byte ${have}` : ""}`);
  // 206: append to the partial file; 200: the server ignored the range, start over.
  if (res.status !== 206) await writeFile(part, new Uint8Array(0));
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    await appendFile(part, value);
  }
  await rename(part, dest);
}
