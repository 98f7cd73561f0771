/**
 * The one translation of zod validation issues into the project's error vocabulary, used by both
 * HTTP apps and by every parser that reports a bad field: an issue becomes {code, field, message}
 * with `field` the dotted path a client would name ("prompt.2", "scheduler.timestep_spacing").
 */
import type { z } from "zod";
import { ValidationError } from "../errors";

interface IssueDetail {
  /** zod's issue code ("too_small", "invalid_type", ...). */
  code: string;
  field: string;
  message: string;
}

/** How many issues an error's `details` lists; the first one names `field`. */
const MAX_DETAILS = 10;

/**
 * Dotted path of an issue, below `prefix` when given (a file name such as "manifest"). An
 * unrecognised key names the key itself. The root is `prefix`, or "body" for a request body.
 */
export function issueField(issue: z.core.$ZodIssue, prefix?: string): string {
  const parts = issue.path.map(String);
  if (issue.code === "unrecognized_keys" && issue.keys.length > 0) parts.push(issue.keys[0]);
  if (prefix !== undefined) parts.unshift(prefix);
  return parts.length === 0 ? "body" : parts.join(".");
}

function issueDetail(issue: z.core.$ZodIssue, prefix?: string): IssueDetail {
  return { code: issue.code, field: issueField(issue, prefix), message: issue.message };
}

/** A failed parse as a ValidationError: the first issue names the field, `details` lists all. */
export function validationError(
  issues: readonly z.core.$ZodIssue[],
  prefix?: string,
): ValidationError {
  const details = issues.slice(0, MAX_DETAILS).map((i) => issueDetail(i, prefix));
  const first = details[0] ?? { field: prefix ?? "body", message: "is invalid" };
  return new ValidationError(`${first.field}: ${first.message}`, { field: first.field, details });
}
