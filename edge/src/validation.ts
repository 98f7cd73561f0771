/**
 * Turns zod validation failures at the HTTP boundary into ValidationError naming the field
 * (dotted path; `body`, `query` or `params` prefixes are left out, as clients name fields).
 */
import { ValidationError } from "@budgetfusion/shared/errors";

interface IssueLike {
  code: string;
  message: string;
  path: readonly PropertyKey[];
  keys?: readonly string[];
}

function fieldOf(issue: IssueLike): string {
  const path = issue.path.map(String);
  if (issue.code === "unrecognized_keys" && issue.keys !== undefined && issue.keys.length > 0) {
    path.push(issue.keys[0]);
  }
  return path.length === 0 ? "body" : path.join(".");
}

export function validationErrorFrom(issues: readonly IssueLike[], target: string): ValidationError {
  const first = issues[0];
  if (first === undefined) return new ValidationError(`invalid ${target}`, { field: target });
  const field = fieldOf(first);
  return new ValidationError(`${field}: ${first.message}`, {
    field,
    details: issues.slice(0, 10).map((i) => ({ field: fieldOf(i), message: i.message })),
  });
}
