/**
 * The default predictor bundle is named, not guessed: the committed file
 * `artifacts/bundles/DEFAULT` holds one line, the version `npm start` serves on a fresh state.
 * A run that merely writes a bundle changes nothing here; `npm run pipeline -- --publish
 * --set-default` rewrites the file, and a reviewer sees that in the diff.
 */
import { ValidationError } from "../errors";
import { bundleVersionSchema } from "./bundle-manifest";

/** The file's name inside the bundles folder. */
export const DEFAULT_BUNDLE_FILE = "DEFAULT";

/** The version named by the file's text; a ValidationError naming the file otherwise. */
export function parseDefaultBundle(text: string): string {
  const parsed = bundleVersionSchema.safeParse(text.trim());
  if (!parsed.success)
    throw new ValidationError(
      `${DEFAULT_BUNDLE_FILE}: "${text.trim()}" is not a bundle version (${parsed.error.issues[0].message})`,
      { field: DEFAULT_BUNDLE_FILE },
    );
  return parsed.data;
}

export function formatDefaultBundle(version: string): string {
  return `${parseDefaultBundle(version)}\n`;
}
