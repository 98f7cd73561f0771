/**
 * vitest globalSetup of the workerd project (runs in Node): builds the fixture bundles into a
 * temporary directory (served to the tests by the fake outbound service at http://fixtures.fake)
 * and provides their manifests and reference curves to the tests via provide/inject.
 */
import { rm } from "node:fs/promises";
import type { TestProject } from "vitest/node";
import { buildFixtureBundles } from "./build-fixture-bundle";
import "./fixture-contract";
import { FIXTURE_ROOT } from "./fixture-root";

export default async function setup(project: TestProject) {
  const bundles = await buildFixtureBundles(FIXTURE_ROOT);
  project.provide("fixtureBundles", bundles);
  return async () => {
    await rm(FIXTURE_ROOT, { recursive: true, force: true });
  };
}
