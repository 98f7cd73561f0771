/**
 * Uploads a bundle directory to the edge admin API and activates it (SPEC §7 admin endpoints):
 * POST /admin/bundles as multipart/form-data (part "manifest" = manifest.json, one part per
 * file named by its manifest-relative path: the edge's format, edge/src/bundles/read-upload.ts),
 * then POST /admin/bundles/<version>/activate. Checksums are verified locally first so a
 * corrupt bundle never leaves the machine.
 */
import { UpstreamError } from "@budgetfusion/shared/errors";
import { edgeFiles } from "@budgetfusion/shared/predictor/bundle-manifest";
import { readVerifiedBundle } from "./bundle-files";

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
  const { manifestText, manifest, files } = await readVerifiedBundle(o.bundleDir);
  const form = new FormData();
  form.append("manifest", new Blob([manifestText], { type: "application/json" }), "manifest.json");
  // With an edge form the teacher's files stay here: the edge serves edgeFiles() only.
  const served = new Set(edgeFiles(manifest).map((ref) => ref.file));
  for (const { ref, bytes } of files.filter((f) => served.has(f.ref.file)))
    form.append(ref.file, new Blob([bytes], { type: "application/octet-stream" }), ref.file);
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
