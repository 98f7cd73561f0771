/**
 * Deploying a bundle directory to an edge: its checksums verified locally first (so a corrupt
 * bundle never leaves the machine), uploaded and activated through the admin API client
 * (admin-client.ts). The deploy CLI refuses a version the edge already stores; the local stack
 * (@budgetfusion/scripts) re-activates it, since a restart of `npm start` seeds the same bundle.
 */
import { UpstreamError } from "@budgetfusion/shared/errors";
import { type AdminClientOptions, BundleAdminClient } from "./admin-client";
import { readVerifiedBundle } from "./bundle-files";

export interface DeployOptions extends AdminClientOptions {
  bundleDir: string;
  /** Upload only, leave the active version alone. */
  noActivate?: boolean;
  /** A version the edge already stores: "fail" (default) or "activate" it as stored. */
  ifStored?: "fail" | "activate";
}

export interface DeployResult {
  version: string;
  /** false: the edge already stored this version (ifStored "activate"). */
  uploaded: boolean;
  activated: boolean;
}

export async function deployBundle(o: DeployOptions): Promise<DeployResult> {
  const bundle = await readVerifiedBundle(o.bundleDir);
  const version = bundle.manifest.version;
  const client = new BundleAdminClient(o);
  const uploaded = (await client.upload(bundle)) === "created";
  if (!uploaded && (o.ifStored ?? "fail") === "fail")
    throw new UpstreamError(
      `upload failed with 409: the edge already stores version ${version}, and a stored version never changes; give this bundle another version`,
      { details: { status: 409 } },
    );
  if (o.noActivate) return { version, uploaded, activated: false };
  await client.activate(version);
  return { version, uploaded, activated: true };
}
