import { createHash } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { STEP_GRID } from "@budgetfusion/shared/grid/step-grid";
import { DEFAULT_PLATEAU } from "@budgetfusion/shared/plateau/step-budget";
import {
  bundleManifestSchema,
  lsnrDefinitionOf,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import { FIXTURES } from "@budgetfusion/test-helpers/fixtures";
import { describe, expect, it } from "vitest";
import { deployBundle } from "./deploy-bundle";
import { writeBundle } from "./write-bundle";

async function makeBundle() {
  const src = await mkdtemp(join(tmpdir(), "bf-bundle-src-"));
  const files = {
    lsnr: join(src, "l.onnx"),
    dsim: join(src, "d.onnx"),
    iclip: join(src, "i.onnx"),
  };
  await writeFile(files.lsnr, "lsnr-model");
  await writeFile(files.dsim, "dsim-model");
  await writeFile(files.iclip, "iclip-model");
  const out = await mkdtemp(join(tmpdir(), "bf-bundles-"));
  return writeBundle({
    bundlesDir: out,
    version: "test-1",
    predictorFiles: files,
    hidden: 8,
    layers: 2,
    embeddingWidth: 16,
    clipDir: join(FIXTURES, "tiny-clip"),
    diffusionModelId: "tiny-sd2",
    schedulerConfig: { prediction_type: "v_prediction", timestep_spacing: "trailing" },
    plateau: DEFAULT_PLATEAU,
    trainingDataHash: "a".repeat(64),
    evaluation: { n_test: 1 },
    stepGrid: STEP_GRID,
    generation: { guidanceScale: 1, width: 128, height: 96 },
  });
}

describe("bundle writer and deploy", () => {
  it("writes a schema-valid manifest with sha256 and size of every file; a small text model runs at the edge", async () => {
    const { manifest } = await makeBundle();
    expect(bundleManifestSchema.parse(manifest)).toBeTruthy();
    expect(manifest.predictor.files.lsnr).toEqual({
      file: "predictor/lsnr.onnx",
      sha256: createHash("sha256").update("lsnr-model").digest("hex"),
      bytes: 10,
    });
    // SPEC §3 revised: the manifest says its L-SNR head outputs S/(S+N).
    expect(manifest.metric_definitions).toEqual({ lsnr: { definition: "signal_share" } });
    expect(lsnrDefinitionOf(manifest)).toBe("signal_share");
    expect(manifest.embedding.runs_at).toBe("edge");
    expect(manifest.embedding.text_model?.file).toBe("embedding/text_model.onnx");
    expect(manifest.diffusion_model.scheduler_config.timestep_spacing).toBe("trailing");
    expect(manifest.diffusion_model.generation).toEqual({
      guidance_scale: 1,
      width: 128,
      height: 96,
    });
  });

  it("uploads manifest + one part per file, then activates the version", async () => {
    const { dir, manifest } = await makeBundle();
    const calls: { url: string; form?: FormData; auth: string | null }[] = [];
    const fetchImpl = (async (input: URL | RequestInfo, init?: RequestInit) => {
      const req = new Request(input, init);
      const isUpload = req.url.endsWith("/admin/bundles");
      calls.push({
        url: req.url,
        form: isUpload ? await req.formData() : undefined,
        auth: req.headers.get("authorization"),
      });
      return new Response(JSON.stringify(isUpload ? { version: "test-1" } : { active: "test-1" }), {
        status: isUpload ? 201 : 200,
      });
    }) as typeof fetch;
    const res = await deployBundle({
      edge: "http://edge.test",
      token: "tok",
      bundleDir: dir,
      fetchImpl,
    });
    expect(res).toMatchObject({ version: "test-1", activated: true });
    expect(calls.map((c) => c.url)).toEqual([
      "http://edge.test/admin/bundles",
      "http://edge.test/admin/bundles/test-1/activate",
    ]);
    expect(calls.every((c) => c.auth === "Bearer tok")).toBe(true);
    const form = calls[0].form as FormData;
    const parts: string[] = [];
    form.forEach((_, key) => {
      parts.push(key);
    });
    parts.sort();
    expect(parts).toEqual([
      "embedding/text_model.onnx",
      "embedding/tokenizer.json",
      "manifest",
      "predictor/dsim.onnx",
      "predictor/iclip.onnx",
      "predictor/lsnr.onnx",
    ]);
    const lsnr = form.get("predictor/lsnr.onnx") as File;
    expect(Buffer.from(await lsnr.arrayBuffer()).toString()).toBe("lsnr-model");
    expect(JSON.parse(await (form.get("manifest") as File).text()).version).toBe(manifest.version);
  });

  it("refuses a bundle whose file does not match its checksum, before any request", async () => {
    const { dir } = await makeBundle();
    await writeFile(join(dir, "predictor/dsim.onnx"), "tampered");
    let called = false;
    const fetchImpl = (async () => {
      called = true;
      return new Response("{}");
    }) as unknown as typeof fetch;
    await expect(
      deployBundle({ edge: "http://edge.test", token: "t", bundleDir: dir, fetchImpl }),
    ).rejects.toThrow(/dsim.onnx/);
    expect(called).toBe(false);
  });

  it("reports the edge's error status", async () => {
    const { dir } = await makeBundle();
    const fetchImpl = (async () =>
      new Response('{"error":{"code":"conflict"}}', { status: 409 })) as unknown as typeof fetch;
    await expect(
      deployBundle({ edge: "http://edge.test", token: "t", bundleDir: dir, fetchImpl }),
    ).rejects.toThrow(/409/);
  });

  it("activates a version the edge already stores when asked to (the local stack's restart)", async () => {
    const { dir, manifest } = await makeBundle();
    const calls: string[] = [];
    const fetchImpl = (async (input: URL | RequestInfo, init?: RequestInit) => {
      const req = new Request(input, init);
      calls.push(`${req.method} ${new URL(req.url).pathname}`);
      if (req.url.endsWith("/admin/bundles")) return new Response("{}", { status: 409 });
      return Response.json({ active: manifest.version });
    }) as typeof fetch;
    const res = await deployBundle({
      edge: "http://edge.test",
      token: "t",
      bundleDir: dir,
      ifStored: "activate",
      fetchImpl,
    });
    expect(res).toEqual({ version: manifest.version, uploaded: false, activated: true });
    expect(calls).toEqual([
      "POST /admin/bundles",
      `POST /admin/bundles/${manifest.version}/activate`,
    ]);
  });

  it("names the edge's status and error when activation is refused", async () => {
    const { dir } = await makeBundle();
    const fetchImpl = (async (input: URL | RequestInfo) =>
      String(input).endsWith("/admin/bundles")
        ? new Response("{}", { status: 201 })
        : new Response('{"error":{"field":"metric_definitions.lsnr.definition"}}', {
            status: 422,
          })) as unknown as typeof fetch;
    await expect(
      deployBundle({ edge: "http://edge.test", token: "t", bundleDir: dir, fetchImpl }),
    ).rejects.toThrow(/activation of .* failed with 422: .*metric_definitions\.lsnr\.definition/);
  });
});
