/**
 * The edge under `wrangler dev` (real workerd, local D1/R2/Durable Object) with the real GPU
 * worker on ../shared/fixtures/tiny-sd2, on ports 18787 (edge) and 18790 (worker), sharing one
 * stack started in beforeAll and killed (process groups) in afterAll:
 *  - POST /v1/generate with steps "auto" returns a PNG made with the predicted t*;
 *  - the page at / in headless Chromium (playwright-core; the browser test/helpers/browser.ts
 *    resolves, npm-shipped when Debian's is absent) shows t*, the per-metric t* and the three
 *    predicted curves as inline SVG, under its Content-Security-Policy without a single refusal.
 * The predictor bundle is the fx-edge16 fixture (tiny-clip text model + exported predictors).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Child,
  devSecrets,
  startEdge,
  startWorker,
  stop,
} from "@budgetfusion/scripts/local-stack";
import { stepBudget } from "@budgetfusion/shared/plateau/step-budget";
import { launchChromium } from "@budgetfusion/test-helpers/browser";
import { FIXTURES } from "@budgetfusion/test-helpers/fixtures";
import { deployBundle } from "@budgetfusion/training/bundle/deploy-bundle";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixtureBundles } from "../workerd/build-fixture-bundle";
import type { FixtureBundle } from "../workerd/fixture-contract";

const EDGE_PORT = 18787;
const WORKER_PORT = 18790;
const EDGE = `http://127.0.0.1:${EDGE_PORT}`;

let dir: string;
let bundle: FixtureBundle;
const children: Child[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "bf-edge-int-"));
  const bundles = await buildFixtureBundles(join(dir, "bundles"));
  const found = bundles.find((b) => b.version === "fx-edge16");
  if (found === undefined) throw new Error("fx-edge16 fixture bundle was not built");
  bundle = found;
  const secrets = devSecrets();
  try {
    children.push(await startEdge({ port: EDGE_PORT, persistTo: join(dir, "state") }));
    await deployBundle({
      edge: EDGE,
      token: secrets.ADMIN_TOKEN,
      bundleDir: join(dir, "bundles", "fx-edge16"),
    });
    children.push(
      await startWorker(
        {
          port: WORKER_PORT,
          edgeUrl: EDGE,
          workerToken: secrets.WORKER_TOKEN,
          modelDir: join(FIXTURES, "tiny-sd2"),
          workerId: "it-worker",
        },
        secrets.ADMIN_TOKEN,
      ),
    );
  } catch (err) {
    await Promise.all(children.map((c) => stop(c)));
    throw err;
  }
}, 420_000);

afterAll(async () => {
  await Promise.all(children.reverse().map((c) => stop(c)));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("edge under wrangler dev with the real GPU worker", () => {
  it('generate with steps "auto" returns a PNG made with t*', async () => {
    const prompt = "a white and empty wall";
    const expected = stepBudget(bundle.expected[prompt], {
      weights: bundle.manifest.plateau.weights,
      eps: bundle.manifest.plateau.eps,
      maxSteps: 8,
    }).steps;
    // /v1/budget under wrangler dev, clamped by max_steps.
    const budget = await fetch(`${EDGE}/v1/budget`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt, max_steps: 8 }),
    });
    expect(((await budget.json()) as { steps: number }).steps).toBe(expected);

    const res = await fetch(`${EDGE}/v1/generate?wait=120`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt, steps: "auto", seed: 3, width: 64, height: 64 }),
    });
    expect(res.status).toBe(200);
    const job = (await res.json()) as {
      status: string;
      steps: number;
      steps_source: string;
      image_url: string;
    };
    const full = stepBudget(bundle.expected[prompt], {
      weights: bundle.manifest.plateau.weights,
      eps: bundle.manifest.plateau.eps,
    }).steps;
    expect(job).toMatchObject({
      status: "succeeded",
      steps: full,
      steps_source: "auto",
    });
    // Which worker ran it is internal (GET /admin/workers), not part of the public job view.
    expect(job).not.toHaveProperty("worker");
    const png = await fetch(`${EDGE}${job.image_url}`);
    expect(png.status).toBe(200);
    expect(png.headers.get("content-type")).toBe("image/png");
    const bytes = new Uint8Array(await png.arrayBuffer());
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // IHDR width/height (big-endian at offsets 16 and 20).
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    expect([view.getUint32(16), view.getUint32(20)]).toEqual([64, 64]);
  }, 180_000);
});

describe("the page at / in headless Chromium", () => {
  it("shows t*, per-metric t* and the three predicted curves as inline SVG", async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const external: string[] = [];
      page.on("request", (r) => {
        if (!r.url().startsWith(EDGE)) external.push(r.url());
      });
      // A Content-Security-Policy refusal (or any script error) shows up as one of these.
      const errors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(e.message));
      const served = await page.goto(`${EDGE}/`);
      expect(served?.headers()["content-security-policy"]).toMatch(/script-src 'nonce-/);
      const prompt = "an astronaut";
      await page.fill("#prompt", prompt);
      await page.click("#go");
      await page.waitForSelector("#chart", { timeout: 30_000 });
      const ref = stepBudget(bundle.expected[prompt], {
        weights: bundle.manifest.plateau.weights,
        eps: bundle.manifest.plateau.eps,
      });
      expect(await page.textContent("#tstar")).toBe(String(ref.steps));
      for (const m of ["lsnr", "dsim", "iclip"] as const) {
        expect(await page.textContent(`#per-metric td[data-metric="${m}"]`)).toBe(
          String(ref.perMetric[m]),
        );
        const points = await page.getAttribute(`#chart polyline[data-metric="${m}"]`, "points");
        expect(points?.trim().split(/\s+/)).toHaveLength(129);
      }
      expect(await page.locator("#chart line#tstar-line").count()).toBe(1);
      expect(external).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
