/**
 * Uploads a bundle directory to the edge admin API and activates it (SPEC §7 admin endpoints):
 * POST /admin/bundles as multipart/form-data (part "manifest" = manifest.json, one part per
 * file named by its manifest-relative path: the edge's format, edge/src/bundles/read-upload.ts),
 * then POST /admin/bundles/<version>/activate. Checksums are verified locally first so a
 * corrupt bundle never leaves the machine.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ModelLoadError, UpstreamError, ValidationError } from "@budgetfusion/shared/errors";
import {
  bundleManifestSchema,
  manifestFiles,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import { sha256Hex } from "../dataset/image-files";

export interface DeployOptions {
  edge: string;
  token: string;
  bundleDir: string;
  /** Upload only, leave the active version alone. */
  noActivate?: boolean;
  fetchImpl?: typeof fetch;
}

export interface DeployResult {
  version: string;
  activated: boolean;
  upload: unknown;
}

async function expectOk(res: Response, what: string): Promise<unknown> {
  const text = await res.text();
  if (!res.ok)
    throw new UpstreamError(`${what} failed with ${res.status}: ${text.slice(0, 500)}`, {
      details: { status: res.status },
    });
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function deployBundle(o: DeployOptions): Promise<DeployResult> {
  const fetchImpl = o.fetchImpl ?? fetch;
  const manifestText = await readFile(join(o.bundleDir, "manifest.json"), "utf8").catch((cause) => {
    throw new ModelLoadError(`no manifest.json in ${o.bundleDir}`, { field: "--bundle", cause });
  });
  const parsed = bundleManifestSchema.safeParse(JSON.parse(manifestText));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(`manifest.json: ${issue.path.join(".")}: ${issue.message}`, {
      field: issue.path.join("."),
    });
  }
  const manifest = parsed.data;
  const form = new FormData();
  form.append("manifest", new Blob([manifestText], { type: "application/json" }), "manifest.json");
  for (const ref of manifestFiles(manifest)) {
    const bytes = new Uint8Array(await readFile(join(o.bundleDir, ref.file)));
    if (sha256Hex(bytes) !== ref.sha256) {
      throw new ValidationError(`${ref.file} does not match its sha256 in the manifest`, {
        field: ref.file,
      });
    }
    form.append(ref.file, new Blob([bytes], { type: "application/octet-stream" }), ref.file);
  }
  const auth = { authorization: `Bearer ${o.token}` };
  const upload = await expectOk(
    await fetchImpl(new URL("/admin/bundles", o.edge), {
      method: "POST",
      headers: auth,
      body: form,
    }),
    "upload",
  );
  if (o.noActivate) return { version: manifest.version, activated: false, upload };
  await expectOk(
    await fetchImpl(
      new URL(`/admin/bundles/${encodeURIComponent(manifest.version)}/activate`, o.edge),
      {
        method: "POST",
        headers: auth,
      },
    ),
    "activate",
  );
  return { version: manifest.version, activated: true, upload };
}
