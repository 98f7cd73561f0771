import { describe, expect, it } from "vitest";
import * as shared from "./index";

describe("@budgetfusion/shared barrel", () => {
  it("exports the public API of every module", () => {
    for (const name of [
      "ValidationError",
      "STEP_GRID",
      "interpolateDense",
      "stepBudget",
      "metricPlateauStep",
      "stepsForQuality",
      "DEFAULT_PLATEAU",
      "lsnr",
      "decodePngToRgb",
      "encodeRgbToPng",
      "ClipTokenizer",
      "loadClipTokenizer",
      "EulerDiscreteScheduler",
      "parseSchedulerConfig",
      "bundleManifestSchema",
      "predictorFeatures",
      "seededLatents",
    ]) {
      expect(shared, name).toHaveProperty(name);
    }
    expect(shared.edgeApi).toHaveProperty("budgetRequestSchema");
  });
});
