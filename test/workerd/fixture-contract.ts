/**
 * What the workerd project's global setup (Node) hands to the tests (workerd) through
 * provide/inject: the fixture bundles' manifests, file names and reference curves.
 */
import type { BundleManifest, MetricName } from "@budgetfusion/shared/predictor/bundle-manifest";

/** Prompts whose reference curves the global setup computes. */
export const PROBE_PROMPTS = [
  "a colorful park with a crowd",
  "a white and empty wall",
  "an astronaut",
];

export interface FixtureBundle {
  version: string;
  /** manifest-relative file names (the upload parts besides "manifest"). */
  files: string[];
  manifest: BundleManifest;
  /** Reference curves per prompt, from onnxruntime-node. */
  expected: Record<string, Record<MetricName, number[]>>;
}

declare module "vitest" {
  export interface ProvidedContext {
    fixtureBundles: FixtureBundle[];
  }
}
