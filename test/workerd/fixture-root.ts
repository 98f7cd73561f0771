/** Where the workerd project's global setup writes fixture bundles (per run, under the OS tmp). */
import { tmpdir } from "node:os";
import { join } from "node:path";

export const FIXTURE_ROOT = join(tmpdir(), `bf-edge-fixtures-${process.pid}`);
