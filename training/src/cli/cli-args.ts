/**
 * CLI argument validation shared by the training CLIs: zod at the boundary, and a
 * ValidationError naming the flag (`--name`) on bad input.
 */
import { ValidationError } from "@budgetfusion/shared/errors";
import type { z } from "zod";

export function parseCli<S extends z.ZodTypeAny>(schema: S, values: unknown): z.infer<S> {
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const flag = `--${issue.path.join(".")}`;
    throw new ValidationError(`${flag}: ${issue.message}`, { field: flag });
  }
  return parsed.data;
}
