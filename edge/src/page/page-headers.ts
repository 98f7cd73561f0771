/**
 * hono's secure headers for the edge's HTML pages (/ and /ops), with a Content-Security-Policy
 * that allows nothing but the page's own inline script and style (by a per-request nonce),
 * fetches to its own origin, and images it made itself from those fetches (blob: URLs).
 */
import type { Context } from "hono";
import { NONCE, secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../app-env";

export const pageHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: [NONCE],
    styleSrc: [NONCE],
    connectSrc: ["'self'"],
    // Images are fetched with the API key and shown from object URLs.
    imgSrc: ["blob:"],
    baseUri: ["'none'"],
    // Forms are sent by fetch(), never submitted as a navigation.
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
});

/** The nonce pageHeaders drew for this request. */
export function pageNonce(c: Context<AppEnv>): string {
  const nonce = c.var.secureHeadersNonce;
  if (nonce === undefined) throw new Error("secureHeaders drew no nonce");
  return nonce;
}
