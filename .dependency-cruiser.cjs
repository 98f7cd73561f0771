/**
 * The import graph's rules (`npm run lint:deps`, part of `npm test`): no circles, no package
 * reaching into another's folder by a relative path (import `@budgetfusion/<pkg>/<module>` and
 * declare it in package.json; knip checks the declaration), and the layering the packages are
 * built on. Type-only imports count: a circle through types is still a circle.
 */
const PACKAGES = "test/helpers|shared|inference|world|edge|gpu-worker|training|scripts|test";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment:
        "Modules that import each other cannot be understood or tested one at a time. " +
        "Known exception until `wrangler types` generates the edge's Env: the hand-written " +
        "EdgeBindings names the Dispatcher class and the Dispatcher reads EdgeBindings.",
      from: { pathNot: "^edge/src/(env|dispatch/dispatcher)\\.ts$" },
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
    {
      name: "shared-is-the-base",
      severity: "error",
      comment: "shared/ is pure TypeScript every side uses: it imports no other workspace package.",
      from: { path: "^shared/" },
      to: { path: "^(inference|world|edge|gpu-worker|training|scripts|test)/" },
    },
    {
      name: "inference-is-a-library",
      severity: "error",
      comment:
        "The inference package serves the GPU worker, training and the world; it imports none of them.",
      from: { path: "^inference/" },
      to: { path: "^(world|edge|gpu-worker|training|scripts)/" },
    },
    {
      name: "world-does-not-know-training",
      severity: "error",
      comment: "Training uses the mini world, never the other way round; serving code neither.",
      from: { path: "^world/" },
      to: { path: "^(edge|gpu-worker|training|scripts)/" },
    },
    {
      name: "edge-runs-in-workerd",
      severity: "error",
      comment:
        "The edge depends on shared only: Node packages (onnxruntime-node, fs) cannot run in workerd.",
      from: { path: "^edge/src/" },
      to: { path: "^(inference|world|gpu-worker|training|scripts|test)/" },
    },
    {
      name: "apps-do-not-import-each-other",
      severity: "error",
      comment: "The GPU worker and training share code through inference and shared only.",
      from: { path: "^(gpu-worker|training)/src/" },
      to: { path: "^(gpu-worker|training)/src/", pathNot: "^$1/" },
    },
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
