/**
 * Body parsing for the worker's routes: JSON, then a zod schema; the first issue becomes a
 * ValidationError naming its field (dotted path), so bad input is a 400, never a 500.
 */
import { ValidationError } from "@budgetfusion/shared/errors";
import { validationError } from "@budgetfusion/shared/schemas/zod-issues";
import type { z } from "zod";

export async function parseJsonBody<T extends z.ZodType>(
  request: Request,
  schema: T,
): Promise<z.output<T>> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    throw new ValidationError("request body must be valid JSON", { field: "body" });
  }
  const r = schema.safeParse(body);
  if (!r.success) throw validationError(r.error.issues);
  return r.data;
}
