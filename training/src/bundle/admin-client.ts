/**
 * The one client of the edge admin API's bundle endpoints (SPEC §7, edge/src/routes/admin.ts),
 * used by the deploy CLI (deploy-bundle.ts) and by the local stack that `npm start`, the edge
 * benchmark and the end-to-end tests run (@budgetfusion/scripts): upload a verified bundle as
 * multipart/form-data (part "manifest" = manifest.json, one part per file named by its
 * manifest-relative path: the edge's format, edge/src/bundles/read-upload.ts), activate a
 * version, and read which version is active. A refusal is an UpstreamError carrying the edge's
 * status and JSON error, so its `field` reaches the operator.
 */
import { UpstreamError } from "@budgetfusion/shared/errors";
import { edgeFiles } from "@budgetfusion/shared/predictor/bundle-manifest";
import { bundleViewSchema } from "@budgetfusion/shared/schemas/edge-api";
import { z } from "zod";
import type { VerifiedBundle } from "./bundle-files";

export interface AdminClientOptions {
  /** The edge's base URL. */
  edge: string;
  /** ADMIN_TOKEN. */
  token: string;
  fetchImpl?: typeof fetch;
}

const bundleListSchema = z.object({ bundles: z.array(bundleViewSchema) });

export class BundleAdminClient {
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly o: AdminClientOptions) {
    this.fetchImpl = o.fetchImpl ?? fetch;
  }

  private call(path: string, init: RequestInit = {}): Promise<Response> {
    return this.fetchImpl(new URL(path, this.o.edge), {
      ...init,
      headers: { authorization: `Bearer ${this.o.token}` },
    });
  }

  private static async refusal(res: Response, what: string): Promise<UpstreamError> {
    const text = await res.text();
    return new UpstreamError(`${what} failed with ${res.status}: ${text.slice(0, 500)}`, {
      details: { status: res.status },
    });
  }

  /** "exists": the edge already stores this version (409), nothing was sent into it. */
  async upload(bundle: VerifiedBundle): Promise<"created" | "exists"> {
    const form = new FormData();
    form.append(
      "manifest",
      new Blob([bundle.manifestText], { type: "application/json" }),
      "manifest.json",
    );
    // With an edge form the teacher's files stay here: the edge stores edgeFiles() only.
    const served = new Set(edgeFiles(bundle.manifest).map((ref) => ref.file));
    for (const { ref, bytes } of bundle.files.filter((f) => served.has(f.ref.file)))
      form.append(ref.file, new Blob([bytes], { type: "application/octet-stream" }), ref.file);
    const res = await this.call("/admin/bundles", { method: "POST", body: form });
    if (res.status === 201) return "created";
    if (res.status === 409) return "exists";
    throw await BundleAdminClient.refusal(res, `upload of ${bundle.manifest.version}`);
  }

  async activate(version: string): Promise<void> {
    const res = await this.call(`/admin/bundles/${encodeURIComponent(version)}/activate`, {
      method: "POST",
    });
    if (!res.ok) throw await BundleAdminClient.refusal(res, `activation of ${version}`);
  }

  /** The version the edge serves now, undefined when none is active. */
  async activeVersion(): Promise<string | undefined> {
    const res = await this.call("/admin/bundles");
    if (!res.ok) throw await BundleAdminClient.refusal(res, "listing bundles");
    const { bundles } = bundleListSchema.parse(await res.json());
    return bundles.find((b) => b.active)?.version;
  }
}
