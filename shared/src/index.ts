/**
 * Public API of @budgetfusion/shared: the runtime-neutral core every app builds on (SPEC §1-§5).
 * Pure TypeScript: no node:*, no onnxruntime, no I/O — runtimes and storage are injected
 * (OrtPort, ReadText). Apps may also import a module directly
 * (`@budgetfusion/shared/plateau/step-budget`), which keeps bundles small.
 */
export * from "./errors";
export * from "./grid/step-grid";
export * from "./image/png-image";
export * from "./image/rgb-image";
export * from "./metrics/lsnr";
export type { MetricCurves, StepBounds } from "./plateau/curve-input";
export * from "./plateau/quality-target";
export * from "./plateau/step-budget";
export * from "./predictor/bundle-manifest";
export * from "./predictor/step-encoding";
export * from "./random/seeded-random";
export * from "./runtime/ort-port";
export * from "./schedulers/euler-discrete";
export * from "./schedulers/scheduler-config";
// HTTP schemas as namespaces: the edge and worker APIs reuse names (generateRequestSchema, ...).
export * as edgeApi from "./schemas/edge-api";
export * from "./tokenizer/clip-tokenizer";
