/**
 * A bundle directory read back and checked against its manifest: manifest.json must validate
 * and every file it lists must match its sha256, so a corrupt bundle is neither deployed nor
 * published.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ModelLoadError, ValidationError } from "@budgetfusion/shared/errors";
import {
  type BundleManifest,
  bundleManifestSchema,
  type FileRef,
  manifestFiles,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import { sha256Hex } from "../dataset/image-files";

export interface VerifiedBundle {
  /** manifest.json as written (what the edge stores). */
  manifestText: string;
  manifest: BundleManifest;
  files: { ref: FileRef; bytes: Uint8Array<ArrayBuffer> }[];
}

/** Reads `dir`; `flag` names the command-line flag that pointed at it, for the errors. */
export async function readVerifiedBundle(dir: string, flag = "--bundle"): Promise<VerifiedBundle> {
  const manifestText = await readFile(join(dir, "manifest.json"), "utf8").catch((cause) => {
    throw new ModelLoadError(`no manifest.json in ${dir}`, { field: flag, cause });
  });
  const parsed = bundleManifestSchema.safeParse(JSON.parse(manifestText));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(`manifest.json: ${issue.path.join(".")}: ${issue.message}`, {
      field: issue.path.join("."),
    });
  }
  const files: VerifiedBundle["files"] = [];
  for (const ref of manifestFiles(parsed.data)) {
    const bytes = new Uint8Array(await readFile(join(dir, ref.file)));
    if (sha256Hex(bytes) !== ref.sha256) {
      throw new ValidationError(`${ref.file} does not match its sha256 in the manifest`, {
        field: ref.file,
      });
    }
    files.push({ ref, bytes });
  }
  return { manifestText, manifest: parsed.data, files };
}
