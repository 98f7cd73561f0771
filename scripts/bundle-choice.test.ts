/**
 * Which bundle `npm start` serves (bundle-choice.ts): the committed DEFAULT file, an explicit
 * --bundle / BF_BUNDLE_DIR over it, and the restart rule (the default is seeded only while no
 * bundle is active) against an in-memory admin API.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BUNDLES_ROOT, chooseBundle, serveBundle } from "./bundle-choice";

const tmp = mkdtempSync(join(tmpdir(), "bf-bundle-choice-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function bundlesRoot(name: string, files: Record<string, string>): string {
  const root = join(tmp, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe("chooseBundle", () => {
  const root = bundlesRoot("named", {
    DEFAULT: "v-default\n",
    "v-default/manifest.json": "{}",
    "v-newer/manifest.json": "{}",
  });

  it("serves the version DEFAULT names, not the newest folder", () => {
    expect(chooseBundle({ bundlesRoot: root })).toEqual({
      dir: join(root, "v-default"),
      source: "DEFAULT",
    });
  });

  it("prefers --bundle, then BF_BUNDLE_DIR, over DEFAULT", () => {
    expect(chooseBundle({ flag: "/b/flag", env: "/b/env", bundlesRoot: root })).toEqual({
      dir: "/b/flag",
      source: "--bundle",
    });
    expect(chooseBundle({ env: "/b/env", bundlesRoot: root })).toEqual({
      dir: "/b/env",
      source: "BF_BUNDLE_DIR",
    });
  });

  it("has no bundle without a DEFAULT file, and names what is wrong with a bad one", () => {
    expect(chooseBundle({ bundlesRoot: bundlesRoot("none", { "v1/manifest.json": "{}" }) })).toBe(
      undefined,
    );
    expect(() => chooseBundle({ bundlesRoot: bundlesRoot("gone", { DEFAULT: "v-gone" }) })).toThrow(
      /DEFAULT names .*v-gone, which has no manifest.json/,
    );
    expect(() => chooseBundle({ bundlesRoot: bundlesRoot("junk", { DEFAULT: "../etc" }) })).toThrow(
      /DEFAULT: "\.\.\/etc" is not a bundle version/,
    );
  });

  it("the committed DEFAULT names a committed bundle of that version", () => {
    const choice = chooseBundle({});
    expect(choice?.source).toBe("DEFAULT");
    const manifest = JSON.parse(readFileSync(join(choice?.dir ?? "", "manifest.json"), "utf8"));
    expect(join(BUNDLES_ROOT, manifest.version)).toBe(choice?.dir);
  });
});

/** The admin API's bundle endpoints over a map, recording the calls that change state. */
function fakeEdge(active?: string) {
  const stored = new Set(active === undefined ? [] : [active]);
  const state = { active, writes: [] as string[] };
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? "GET";
    if (new Headers(init?.headers).get("authorization") !== "Bearer tok")
      return new Response("{}", { status: 401 });
    if (method === "GET" && url.pathname === "/admin/bundles") {
      const bundles = [...stored].map((version) => ({
        version,
        active: version === state.active,
        created_at: "2026-01-01T00:00:00.000Z",
        total_bytes: 1,
        embedding_runs_at: "edge",
        diffusion_model: "m",
      }));
      return Response.json({ bundles });
    }
    state.writes.push(`${method} ${url.pathname}`);
    if (method === "POST" && url.pathname === "/admin/bundles") {
      const form = init?.body;
      if (!(form instanceof FormData)) throw new Error("upload without a multipart body");
      const manifest = JSON.parse(await (form.get("manifest") as File).text());
      if (stored.has(manifest.version)) return new Response("{}", { status: 409 });
      stored.add(manifest.version);
      return new Response("{}", { status: 201 });
    }
    const activate = /^\/admin\/bundles\/([^/]+)\/activate$/.exec(url.pathname);
    if (method === "POST" && activate && stored.has(activate[1])) {
      state.active = activate[1];
      return Response.json({ active: activate[1] });
    }
    return new Response("{}", { status: 404 });
  }) as typeof fetch;
  return { state, fetchImpl };
}

describe("serveBundle", () => {
  const committed = chooseBundle({});
  if (committed === undefined) throw new Error("artifacts/bundles/DEFAULT is missing");
  const version = JSON.parse(readFileSync(join(committed.dir, "manifest.json"), "utf8")).version;

  it("seeds and activates the default on a state with no active bundle", async () => {
    const edge = fakeEdge();
    const served = await serveBundle("http://edge", "tok", committed, edge.fetchImpl);
    expect(served).toEqual({ version, kept: false });
    expect(edge.state.active).toBe(version);
    expect(edge.state.writes).toEqual([
      "POST /admin/bundles",
      `POST /admin/bundles/${version}/activate`,
    ]);
  });

  it("keeps the operator's active bundle on a restart, writing nothing", async () => {
    const edge = fakeEdge("operator-choice");
    const served = await serveBundle("http://edge", "tok", committed, edge.fetchImpl);
    expect(served).toEqual({ version: "operator-choice", kept: true });
    expect(edge.state.active).toBe("operator-choice");
    expect(edge.state.writes).toEqual([]);
  });

  it("activates an explicit --bundle over the active one", async () => {
    const edge = fakeEdge("operator-choice");
    const explicit = { dir: committed.dir, source: "--bundle" as const };
    const served = await serveBundle("http://edge", "tok", explicit, edge.fetchImpl);
    expect(served).toEqual({ version, kept: false });
    expect(edge.state.active).toBe(version);
  });
});
