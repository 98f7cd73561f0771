/**
 * The JSON body of a worker route, as hono validator middleware: a body in another media type is
 * a 415 naming content-type, malformed JSON a 400 naming the body (hono's own parse), and a zod
 * failure a 400 naming the field (shared/src/schemas/zod-issues.ts), so bad input is never a 500.
 */
import { UnsupportedMediaTypeError } from "@budgetfusion/shared/errors";
import { JSON_MEDIA_TYPE } from "@budgetfusion/shared/schemas/error-body";
import { validationError } from "@budgetfusion/shared/schemas/zod-issues";
import { validator } from "hono/validator";
import type { z } from "zod";

/** The media types hono's json validator parses (application/json, application/*+json). */
const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

export function jsonBody<T extends z.ZodType>(schema: T) {
  return validator("json", (value, c): z.output<T> => {
    const type = c.req.header("content-type");
    // hono skips parsing other media types and hands over {}: refuse them instead.
    if (type === undefined || !JSON_TYPE.test(type.split(";")[0].trim())) {
      throw new UnsupportedMediaTypeError(JSON_MEDIA_TYPE, type);
    }
    const r = schema.safeParse(value);
    if (!r.success) throw validationError(r.error.issues);
    return r.data;
  });
}
