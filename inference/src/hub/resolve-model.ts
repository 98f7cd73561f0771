/**
 * Turns a model argument into a loaded model folder: a local path, or `hf:ORG/REPO[@rev]`
 * downloaded into the cache first (hf-download.ts).
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { loadModelDir, type SdModelDir } from "../pipeline/model-dir";
import { downloadHubModel, type FetchLike, parseHubRef } from "./hf-download";

export interface ResolveOptions {
  /** HF_HOME-style cache root; default ~/.cache/huggingface. */
  cacheDir?: string;
  token?: string;
  fetch?: FetchLike;
  log?: (line: string) => void;
}

/** Default cache root from HF_HOME (read by the entry points and passed here). */
export function defaultHubCache(hfHome: string | undefined): string {
  return hfHome ?? join(homedir(), ".cache", "huggingface");
}

export async function resolveModel(
  spec: string,
  options: ResolveOptions = {},
): Promise<SdModelDir> {
  const ref = parseHubRef(spec);
  if (ref === undefined) return loadModelDir(spec);
  const dir = await downloadHubModel(ref, {
    cacheDir: options.cacheDir ?? defaultHubCache(undefined),
    token: options.token,
    fetch: options.fetch,
    log: options.log,
  });
  return loadModelDir(dir, `${ref.repo}@${ref.revision}`);
}
