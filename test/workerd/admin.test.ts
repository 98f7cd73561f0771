/**
 * Admin API in workerd: bearer auth (401 JSON without or with a wrong token), bundle upload
 * verification failures (bad manifest, bad sha256, missing/extra file, ONNX that does not load),
 * version conflicts, activation and rollback, and bundles whose L-SNR head predates SPEC §3's
 * revision (refused at upload, at activation, at rollback and when serving).
 */
import { env, SELF } from "cloudflare:test";
import { d1Database } from "@budgetfusion/edge/db/client";
import { activate as activateInDb, insertVersion } from "@budgetfusion/edge/db/queries/bundles";
import { describe, expect, it } from "vitest";
import {
  ADMIN,
  bundleParts,
  type ErrorJson,
  postJson,
  registerWorker,
  registration,
  upload,
  WORKER,
} from "./helpers";

async function sha256Hex(bytes: Uint8Array) {
  const d = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function expectError(res: Response, status: number, code: string, field?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = (await res.json()) as ErrorJson;
  expect(body.error.code).toBe(code);
  if (field !== undefined) expect(body.error.field).toBe(field);
  expect(body.error.requestId).toMatch(/.+/);
  expect(JSON.stringify(body)).not.toMatch(/\n\s+at /);
  return body;
}

/** A manifest as JSON, edited freely by the tests below. */
// biome-ignore lint/suspicious/noExplicitAny: tests write arbitrary (invalid) keys on purpose
type Manifest = Record<string, any>;

describe("admin auth", () => {
  const routes: [string, string][] = [
    ["GET", "/admin/bundles"],
    ["POST", "/admin/bundles"],
    ["POST", "/admin/bundles/x/activate"],
    ["POST", "/admin/bundles/rollback"],
    ["GET", "/admin/workers"],
  ];
  it.each(routes)("%s %s without a token is 401 JSON", async (method, path) => {
    await expectError(
      await SELF.fetch(`http://edge${path}`, { method }),
      401,
      "unauthorized",
      "authorization",
    );
  });
  it.each(routes)("%s %s with a wrong token is 401 JSON", async (method, path) => {
    const headers = { authorization: "Bearer test-admin-tokeN" };
    await expectError(
      await SELF.fetch(`http://edge${path}`, { method, headers }),
      401,
      "unauthorized",
    );
  });
  it("the worker token is not an admin token", async () => {
    await expectError(
      await SELF.fetch("http://edge/admin/workers", { headers: WORKER }),
      401,
      "unauthorized",
    );
  });
  it("worker registration needs the worker token", async () => {
    await expectError(
      await postJson("/v1/workers/register", registration("w", "ok.fake")),
      401,
      "unauthorized",
    );
    await expectError(
      await postJson("/v1/workers/register", registration("w", "ok.fake"), ADMIN),
      401,
      "unauthorized",
    );
  });
});

describe("bundle upload verification", () => {
  it("rejects a manifest that fails the schema, naming the key", async () => {
    const parts = await bundleParts("fx-gpu24", "bad-manifest");
    const m = JSON.parse(parts.manifest);
    m.step_encoding.width = -3;
    await expectError(
      await upload({ ...parts, manifest: JSON.stringify(m) }),
      422,
      "invalid_bundle",
      "manifest.step_encoding.width",
    );
  });
  it("rejects a manifest that is not JSON", async () => {
    const parts = await bundleParts("fx-gpu24", "bad-json");
    await expectError(
      await upload({ ...parts, manifest: "{not json" }),
      422,
      "invalid_bundle",
      "manifest",
    );
  });
  it("rejects a file whose sha256 differs from the manifest", async () => {
    const parts = await bundleParts("fx-gpu24", "bad-sha");
    const bytes = Uint8Array.from(parts.files.get("predictor/dsim.onnx") ?? []);
    bytes[bytes.length - 1] ^= 0xff;
    parts.files.set("predictor/dsim.onnx", bytes);
    const body = await expectError(
      await upload(parts),
      422,
      "invalid_bundle",
      "predictor/dsim.onnx",
    );
    expect(body.error.message).toMatch(/sha256/);
  });
  it("rejects a missing file and an unreferenced extra file", async () => {
    const parts = await bundleParts("fx-gpu24", "bad-files");
    parts.files.delete("predictor/iclip.onnx");
    await expectError(await upload(parts), 422, "invalid_bundle", "predictor/iclip.onnx");
    const extra = await bundleParts("fx-gpu24", "bad-extra");
    extra.files.set("notes.txt", new TextEncoder().encode("hi"));
    await expectError(await upload(extra), 422, "invalid_bundle", "notes.txt");
  });
  it("rejects an ONNX file that does not load even when its sha256 matches", async () => {
    const parts = await bundleParts("fx-gpu24", "bad-onnx");
    const junk = new TextEncoder().encode("this is not an ONNX model");
    parts.files.set("predictor/lsnr.onnx", junk);
    const m = JSON.parse(parts.manifest);
    m.predictor.files.lsnr = {
      file: "predictor/lsnr.onnx",
      sha256: await sha256Hex(junk),
      bytes: junk.byteLength,
    };
    await expectError(
      await upload({ ...parts, manifest: JSON.stringify(m) }),
      422,
      "invalid_bundle",
      "predictor.files.lsnr",
    );
  });
  it("rejects a model whose input width does not match the manifest", async () => {
    const parts = await bundleParts("fx-gpu24", "bad-width");
    const m = JSON.parse(parts.manifest);
    m.embedding.width = 16;
    m.step_encoding.width = 16;
    await expectError(
      await upload({ ...parts, manifest: JSON.stringify(m) }),
      422,
      "invalid_bundle",
    );
  });
  // Issue 12, finding 6: each of these used to be accepted (and activated).
  it.each([
    [
      "beta_end 1e300 (every job then gave NaN images)",
      (m: Manifest) => {
        m.diffusion_model.scheduler_config.beta_end = 1e300;
      },
      "diffusion_model.scheduler_config.beta_end",
    ],
    [
      "num_train_timesteps 1e9 (would crash every worker)",
      (m: Manifest) => {
        m.diffusion_model.scheduler_config.num_train_timesteps = 1e9;
      },
      "diffusion_model.scheduler_config.num_train_timesteps",
    ],
    [
      "an unknown scheduler key",
      (m: Manifest) => {
        m.diffusion_model.scheduler_config.beta_ende = 0.012;
      },
      "diffusion_model.scheduler_config.beta_ende",
    ],
    [
      "an unknown top-level manifest key",
      (m: Manifest) => {
        m.surprise = true;
      },
      "manifest.surprise",
    ],
    [
      "an unknown nested manifest key",
      (m: Manifest) => {
        m.embedding.widht = 24;
      },
      "manifest.embedding.widht",
    ],
  ])("rejects %s, naming the key", async (_what, edit, field) => {
    const parts = await bundleParts("fx-gpu24", `bad-${field.replaceAll(".", "-").slice(-40)}`);
    const m = JSON.parse(parts.manifest) as Manifest;
    edit(m);
    await expectError(
      await upload({ ...parts, manifest: JSON.stringify(m) }),
      422,
      "invalid_bundle",
      field,
    );
  });

  it("rejects an embedding.width the ONNX predictor does not take, naming it", async () => {
    // fx-edge16: the edge runs the text model, so its output width is checked too.
    const parts = await bundleParts("fx-edge16", "bad-false-width");
    const m = JSON.parse(parts.manifest) as Manifest;
    m.embedding.width = 24;
    m.step_encoding.width = 24;
    await expectError(
      await upload({ ...parts, manifest: JSON.stringify(m) }),
      422,
      "invalid_bundle",
      "embedding.width",
    );
  });

  it("rejects an embedding.width that differs from step_encoding.width", async () => {
    const parts = await bundleParts("fx-gpu24", "bad-width-pair");
    const m = JSON.parse(parts.manifest) as Manifest;
    m.embedding.width = 16;
    await expectError(
      await upload({ ...parts, manifest: JSON.stringify(m) }),
      422,
      "invalid_bundle",
      "embedding.width",
    );
  });

  it("rejects a non-multipart body with 415", async () => {
    await expectError(
      await postJson("/admin/bundles", { manifest: {} }, ADMIN),
      415,
      "unsupported_media_type",
    );
  });
});

describe("versions: upload, list, activate, roll back", () => {
  it("stores inactive, refuses duplicates, activates and rolls back", async () => {
    const up = await upload(await bundleParts("fx-gpu24", "v-a"));
    expect(up.status).toBe(201);
    expect(await up.json()).toMatchObject({
      version: "v-a",
      active: false,
      embedding_runs_at: "gpu-worker",
    });
    await expectError(
      await upload(await bundleParts("fx-gpu24", "v-a")),
      409,
      "conflict",
      "manifest.version",
    );
    expect((await upload(await bundleParts("fx-gpu24", "v-b"))).status).toBe(201);

    const activate = (v: string) =>
      SELF.fetch(`http://edge/admin/bundles/${v}/activate`, { method: "POST", headers: ADMIN });
    const rollback = () =>
      SELF.fetch("http://edge/admin/bundles/rollback", { method: "POST", headers: ADMIN });
    await expectError(await activate("nope"), 404, "not_found", "version");
    expect(await (await activate("v-a")).json()).toEqual({ active: "v-a" });
    await expectError(await rollback(), 409, "conflict");
    expect(await (await activate("v-b")).json()).toEqual({ active: "v-b" });
    const list = (await (
      await SELF.fetch("http://edge/admin/bundles", { headers: ADMIN })
    ).json()) as {
      bundles: { version: string; active: boolean }[];
    };
    expect(list.bundles.filter((b) => b.active).map((b) => b.version)).toEqual(["v-b"]);
    expect(await (await rollback()).json()).toEqual({ active: "v-a" });
    // Readiness also needs a live worker of the bundle's model.
    await registerWorker("w-ready", "ok-ready.fake");
    const ready = (await (await SELF.fetch("http://edge/readyz")).json()) as {
      predictor_version: string;
    };
    expect(ready.predictor_version).toBe("v-a");
  });
});

describe("L-SNR definition (SPEC §3 revised: S/(S+N))", () => {
  const FIELD = "metric_definitions.lsnr.definition";
  /** A fixture manifest as the first SPEC's training wrote it: no field, or noise_share. */
  const stale = async (asVersion: string, definitions?: unknown) => {
    const parts = await bundleParts("fx-gpu24", asVersion);
    const m = JSON.parse(parts.manifest);
    if (definitions === undefined) delete m.metric_definitions;
    else m.metric_definitions = definitions;
    return { ...parts, manifest: JSON.stringify(m) };
  };

  it("refuses at upload a manifest without metric_definitions (made before the revision)", async () => {
    const body = await expectError(
      await upload(await stale("old-nofield")),
      422,
      "invalid_bundle",
      FIELD,
    );
    expect(body.error.message).toMatch(/predates SPEC §3's revision/);
    expect(body.error.message).toMatch(/N\/\(S\+N\)/);
    expect(body.error.message).toMatch(/Retrain/);
    expect(body.error.message).toMatch(/npm run bundle:convert-lsnr -- --bundle DIR --out DIR/);
    const list = (await (
      await SELF.fetch("http://edge/admin/bundles", { headers: ADMIN })
    ).json()) as {
      bundles: { version: string }[];
    };
    expect(list.bundles.map((b) => b.version)).not.toContain("old-nofield");
  });

  it("refuses at upload a head marked noise_share, and accepts signal_share", async () => {
    const body = await expectError(
      await upload(await stale("old-noise", { lsnr: { definition: "noise_share" } })),
      422,
      "invalid_bundle",
      FIELD,
    );
    expect(body.error.message).toMatch(/"noise_share"/);
    const converted = { lsnr: { definition: "signal_share", converted_from: "noise_share" } };
    expect((await upload(await stale("new-converted", converted))).status).toBe(201);
    // A definition the schema does not know is a schema error on the same key.
    await expectError(
      await upload(await stale("odd", { lsnr: { definition: "detail_share" } })),
      422,
      "invalid_bundle",
      `manifest.${FIELD}`,
    );
  });

  it("refuses to activate, roll back to, or serve a bundle stored before the edge knew the revision", async () => {
    const db = d1Database(env.DB);
    const parts = await stale("stored-old");
    await insertVersion(db, {
      version: "stored-old",
      manifest: parts.manifest,
      totalBytes: 1,
      now: 1,
    });
    // The active version from the admin list, not /readyz, which also depends on live workers
    // (a worker registered earlier in this file may expire mid-test).
    const activeVersions = async () =>
      (
        (await (await SELF.fetch("http://edge/admin/bundles", { headers: ADMIN })).json()) as {
          bundles: { version: string; active: boolean }[];
        }
      ).bundles
        .filter((b) => b.active)
        .map((b) => b.version);
    const before = await activeVersions();
    const act = await SELF.fetch("http://edge/admin/bundles/stored-old/activate", {
      method: "POST",
      headers: ADMIN,
    });
    const body = await expectError(act, 422, "invalid_bundle", FIELD);
    expect(body.error.message).toMatch(/bundle:convert-lsnr/);
    expect(await activeVersions()).toEqual(before);

    // Active before the upgrade, then replaced: rolling back to it is refused, nothing changes.
    await activateInDb(db, "stored-old", Date.now());
    expect((await upload(await bundleParts("fx-gpu24", "after-old"))).status).toBe(201);
    const activated = await SELF.fetch("http://edge/admin/bundles/after-old/activate", {
      method: "POST",
      headers: ADMIN,
    });
    expect(await activated.json()).toEqual({ active: "after-old" });
    const back = await SELF.fetch("http://edge/admin/bundles/rollback", {
      method: "POST",
      headers: ADMIN,
    });
    expect((await expectError(back, 422, "invalid_bundle", FIELD)).error.message).toMatch(
      /stored-old/,
    );
    expect(await activeVersions()).toEqual(["after-old"]);

    // Active already when the edge was upgraded (written to D1 directly): budgets answer 503
    // with the reason once the isolate's cached view of the active version expires (2 s).
    await activateInDb(db, "stored-old", Date.now());
    const budget = async () => {
      const r = await postJson("/v1/budget", { prompt: "a red apple" });
      return { status: r.status, body: (await r.json()) as Partial<ErrorJson> };
    };
    let got = await budget();
    for (let i = 0; i < 40 && got.body.error?.code !== "model_load_failed"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      got = await budget();
    }
    expect(got.status).toBe(503);
    expect(got.body.error?.field).toBe(FIELD);
    expect(got.body.error?.message).toMatch(/stored-old cannot be served.*bundle:convert-lsnr/);
  });
});
