import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultStepEncoding } from "@budgetfusion/shared/predictor/step-encoding";
import { describe, expect, it } from "vitest";
import { checkTrainedStepEncoding, stepEncodingPath } from "./train-stage";

describe("checkTrainedStepEncoding", () => {
  it("passes a run without a record, passes the same encoding, rejects another one by flag", async () => {
    const run = await mkdtemp(join(tmpdir(), "bf-run-"));
    const log = defaultStepEncoding(16, "log_step");
    await expect(checkTrainedStepEncoding(run, log)).resolves.toBeUndefined();
    await mkdir(join(run, "models"), { recursive: true });
    await writeFile(stepEncodingPath(run), JSON.stringify(log));
    await expect(
      checkTrainedStepEncoding(run, defaultStepEncoding(16, "log_step")),
    ).resolves.toBeUndefined();
    await expect(checkTrainedStepEncoding(run, defaultStepEncoding(16))).rejects.toThrow(
      /--step-position.*trained with/,
    );
    await expect(
      checkTrainedStepEncoding(run, defaultStepEncoding(16, "log_step", 0.5)),
    ).rejects.toThrow(/step encoding/);
  });
});
