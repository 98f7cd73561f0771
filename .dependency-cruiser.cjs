/**
 * The import graph's rules (`npm run lint:deps`, part of `npm test`): no circles, no package
 * reaching into another's folder by a relative path (import `@budgetfusion/<pkg>/<module>` and
 * declare it in package.json; knip checks the declaration), and the layering the packages are
 * built on. Type-only imports count: a circle through types is still a circle.
 */
const PACKAGES = "test/helpers|shared|inference|world|edge|gpu-worker|training|scripts|test";

/** [rule, importing modules, forbidden targets, why]: the layering the packages are built on. */
const LAYERS = [
  [
    "shared-is-the-base",
    "^(shared)/",
    "^(inference|world|edge|gpu-worker|training|scripts|test)/",
    "shared/ is pure TypeScript every side uses: it imports no other workspace package.",
  ],
  [
    "inference-is-a-library",
    "^(inference)/",
    "^(world|edge|gpu-worker|training|scripts)/",
    "The inference package serves the GPU worker, training and the world; it imports none of them.",
  ],
  [
    "world-does-not-know-training",
    "^(world)/",
    "^(edge|gpu-worker|training|scripts)/",
    "Training uses the mini world, never the other way round; serving code neither.",
  ],
  [
    "edge-runs-in-workerd",
    "^(edge)/src/",
    "^(inference|world|gpu-worker|training|scripts|test)/",
    "The edge depends on shared only: Node packages (onnxruntime-node, fs) cannot run in workerd.",
  ],
  [
    "apps-do-not-import-each-other",
    "^(gpu-worker|training)/src/",
    "^(gpu-worker|training)/src/",
    "The GPU worker and training share code through inference and shared only.",
  ],
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "Modules that import each other cannot be understood or tested one at a time.",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-unresolvable",
      severity: "error",
      comment: "Every import resolves (cloudflare:* are workerd's built-in modules).",
      from: {},
      to: { couldNotResolve: true, pathNot: "^cloudflare:" },
    },
    {
      name: "no-relative-import-across-packages",
      severity: "error",
      comment:
        "Another workspace package is imported by its name (@budgetfusion/...), never by a " +
        "relative path into its folder.",
      from: { path: `^(${PACKAGES})/` },
      to: { dependencyTypes: ["local"], dependencyTypesNot: ["aliased"], pathNot: "^$1/" },
    },
    {
      name: "no-relative-import-of-test-helpers",
      severity: "error",
      comment: "test/helpers is its own package (@budgetfusion/test-helpers) inside test/.",
      from: { path: "^test/(?!helpers/)" },
      to: { dependencyTypes: ["local"], dependencyTypesNot: ["aliased"], path: "^test/helpers/" },
    },
    ...LAYERS.map(([name, from, to, comment]) => ({
      name,
      severity: "error",
      comment,
      from: { path: from },
      to: { path: to, pathNot: "^$1/" },
    })),
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|artifacts|reports|\\.wrangler|coverage)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.base.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
    // Workspace packages are symlinks in node_modules; follow them to the real source files so
    // the rules above see which package a module belongs to.
    preserveSymlinks: false,
    combinedDependencies: true,
    reporterOptions: { text: { highlightFocused: true } },
  },
};
