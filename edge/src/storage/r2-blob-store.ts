/**
 * R2 layout of the edge: predictor bundles under `bundles/<version>/<file>` (the manifest at
 * `bundles/<version>/manifest.json`) and generated images under `images/<job id>.png`.
 */
import { NotFoundError } from "@budgetfusion/shared/errors";

export const bundleKey = (version: string, file: string) => `bundles/${version}/${file}`;
export const imageKey = (jobId: string) => `images/${jobId}.png`;

export async function readBlob(bucket: R2Bucket, key: string): Promise<Uint8Array<ArrayBuffer>> {
  const obj = await bucket.get(key);
  if (obj === null) throw new NotFoundError(`blob ${key} does not exist`, { field: key });
  return new Uint8Array(await obj.arrayBuffer());
}

/** Reader of one bundle's files by their manifest-relative path. */
export function bundleReader(bucket: R2Bucket, version: string) {
  return (file: string) => readBlob(bucket, bundleKey(version, file));
}
