import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ValidationError } from "../errors";
import { issueField, validationError } from "./zod-issues";

const schema = z
  .object({
    prompt: z.union([z.string().max(3), z.array(z.string().max(3))]),
    scheduler: z.strictObject({ spacing: z.enum(["leading", "trailing"]) }).optional(),
  })
  .strict();

function issuesOf(value: unknown) {
  const r = schema.safeParse(value);
  if (r.success) throw new Error("expected a failure");
  return r.error.issues;
}

describe("issueField", () => {
  it.each([
    [{ prompt: ["ok", "long!"] }, undefined, "prompt.1"],
    [{ prompt: "a", scheduler: { spacing: "sideways" } }, undefined, "scheduler.spacing"],
    [{ prompt: "a", colour: "red" }, undefined, "colour"],
    [{ prompt: "a", scheduler: { spacing: "leading", extra: 1 } }, undefined, "scheduler.extra"],
    ["not an object", undefined, "body"],
    ["not an object", "manifest", "manifest"],
    [{ prompt: "a", scheduler: { spacing: 3 } }, "manifest", "manifest.scheduler.spacing"],
  ])("%j (prefix %s) names %s", (value, prefix, field) => {
    expect(issueField(issuesOf(value)[0], prefix)).toBe(field);
  });
});

describe("validationError", () => {
  it("names the first issue's field and lists every issue with its zod code", () => {
    const err = validationError(issuesOf({ prompt: 7, colour: "red" }));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.code).toBe("invalid_request");
    expect(err.field).toBe("prompt");
    expect(err.message.startsWith("prompt: ")).toBe(true);
    expect(err.details).toEqual([
      expect.objectContaining({ field: "prompt", code: "invalid_union" }),
      expect.objectContaining({ field: "colour", code: "unrecognized_keys" }),
    ]);
  });

  it("keeps at most ten details", () => {
    const many = z.object(
      Object.fromEntries([...Array(12).keys()].map((i) => [`k${i}`, z.string()])),
    );
    const r = many.safeParse({});
    if (r.success) throw new Error("expected a failure");
    const err = validationError(r.error.issues);
    expect(r.error.issues).toHaveLength(12);
    expect(err.details).toHaveLength(10);
  });
});
