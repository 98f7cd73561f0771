/**
 * The bundle upload format: multipart/form-data with a part named "manifest" (manifest.json)
 * and one part per file, named by its manifest-relative path (e.g. "predictor/lsnr.onnx").
 * Chosen because workerd parses it natively (Request.formData) and Node's fetch + FormData
 * sends it without extra packages, so neither side hand-writes an archive format.
 */
import { UnsupportedMediaTypeError } from "@budgetfusion/shared/errors";
import { InvalidBundleError } from "./verify-bundle";

export async function readUpload(req: Request) {
  const type = req.headers.get("content-type") ?? undefined;
  if (type === undefined || !type.toLowerCase().startsWith("multipart/form-data")) {
    throw new UnsupportedMediaTypeError("a bundle as multipart/form-data", type);
  }
  let form: FormData;
  try {
    form = await req.formData();
  } catch {
    throw new InvalidBundleError("malformed multipart body", { field: "body" });
  }
  let manifestText: string | undefined;
  const files = new Map<string, Uint8Array>();
  for (const [name, entry] of form.entries()) {
    // workers-types narrows FormData values oddly; at run time a part is a File or a string.
    const value = entry as unknown as File | string;
    if (name === "manifest") {
      manifestText = typeof value === "string" ? value : await value.text();
    } else if (files.has(name)) {
      throw new InvalidBundleError(`file ${name} appears twice`, { field: name });
    } else {
      const bytes =
        typeof value === "string"
          ? new TextEncoder().encode(value)
          : new Uint8Array(await value.arrayBuffer());
      files.set(name, bytes);
    }
  }
  if (manifestText === undefined) {
    throw new InvalidBundleError("the upload has no 'manifest' part", { field: "manifest" });
  }
  return { manifestText, files };
}
