/**
 * The edge under `wrangler dev` (real workerd, local D1/R2/Durable Object) with the real GPU
 * worker on ../shared/fixtures/tiny-sd2, on free ports in 19100-19899, sharing one
 * stack started in beforeAll and killed (process groups) in afterAll:
 * The edge requires API keys as wrangler.toml deploys it; the tests create one with the admin
 * token.
 *  - POST /v1/generate with steps "auto" returns a PNG made with the predicted t*;
 *  - the page at / in headless Chromium (playwright-core; the browser test/helpers/browser.ts
 *    resolves, npm-shipped when Debian's is absent) asks for a key when called without one,
 *    then shows t*, the per-metric t* and the three predicted curves on labelled axes, and on
 *    Generate the same seed at t*, at 65 and at 20 steps with their step counts, GPU seconds
 *    and share of compute, under its Content-Security-Policy without a single refusal. Its
 *    screenshot is kept at reports/page/compare.png, and each image in it is checked to be
 *    a picture (not blank) that differs from the ones made with other step counts.
 * The predictor bundle is the fx-edge16 fixture (tiny-clip text model + exported predictors).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
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
import type { BundleManifest } from "@budgetfusion/shared/predictor/bundle-manifest";
import { stepsVersus } from "@budgetfusion/shared/usage/steps-versus";
import { launchChromium } from "@budgetfusion/test-helpers/browser";
import { FIXTURES } from "@budgetfusion/test-helpers/fixtures";
import { freePort } from "@budgetfusion/test-helpers/free-port";
import { deployBundle } from "@budgetfusion/training/bundle/deploy-bundle";
import { decode } from "fast-png";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixtureBundles } from "../workerd/build-fixture-bundle";
import type { FixtureBundle } from "../workerd/fixture-contract";

let EDGE: string;
/** Where the page's screenshots are kept (reports/page/). */
const SHOTS = join(import.meta.dirname, "../../reports/page");

let dir: string;
let bundle: FixtureBundle;
let apiKey: string;
let adminToken: string;

/** A new consumer key made with the admin token (POST /admin/keys). */
async function createKey(name: string): Promise<string> {
  const created = await fetch(`${EDGE}/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name, plan: "pro" }),
  });
  if (created.status !== 201) throw new Error(`key: ${created.status} ${await created.text()}`);
  return ((await created.json()) as { api_key: string }).api_key;
}
const children: Child[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "bf-edge-int-"));
  const bundles = await buildFixtureBundles(join(dir, "bundles"));
  const found = bundles.find((b) => b.version === "fx-edge16");
  if (found === undefined) throw new Error("fx-edge16 fixture bundle was not built");
  bundle = found;
  const secrets = devSecrets();
  const edgePort = await freePort();
  EDGE = `http://127.0.0.1:${edgePort}`;
  try {
    children.push(await startEdge({ port: edgePort, persistTo: join(dir, "state") }));
    // The fixture's generation size (64x72) gives tiny-sd2's UNet a 9-latent side that its two
    // downsamplings cannot halve (the worker answers 500); the page uses the bundle's size.
    // At 128x128 the 65-step job runs for about 1.7 s here (1.1 s at 64x64), several of the
    // page's 250 ms polls, so the page can show the worker's progress while it runs.
    const manifestFile = join(dir, "bundles", "fx-edge16", "manifest.json");
    const manifest = JSON.parse(await readFile(manifestFile, "utf8")) as BundleManifest;
    manifest.diffusion_model.generation = { guidance_scale: 1.5, width: 128, height: 128 };
    await writeFile(manifestFile, JSON.stringify(manifest));
    await deployBundle({
      edge: EDGE,
      token: secrets.ADMIN_TOKEN,
      bundleDir: join(dir, "bundles", "fx-edge16"),
    });
    adminToken = secrets.ADMIN_TOKEN;
    apiKey = await createKey("e2e generate");
    children.push(
      await startWorker(
        {
          port: await freePort(),
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
    const keyed = { "content-type": "application/json", authorization: `Bearer ${apiKey}` };
    const budget = await fetch(`${EDGE}/v1/budget`, {
      method: "POST",
      headers: keyed,
      body: JSON.stringify({ prompt, max_steps: 8 }),
    });
    expect(((await budget.json()) as { steps: number }).steps).toBe(expected);

    const res = await fetch(`${EDGE}/v1/generate?wait=120`, {
      method: "POST",
      headers: keyed,
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
    expect((await fetch(`${EDGE}${job.image_url}`)).status).toBe(401);
    const png = await fetch(`${EDGE}${job.image_url}`, { headers: keyed });
    expect(png.status).toBe(200);
    expect(png.headers.get("content-type")).toBe("image/png");
    const bytes = new Uint8Array(await png.arrayBuffer());
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // IHDR width/height (big-endian at offsets 16 and 20).
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    expect([view.getUint32(16), view.getUint32(20)]).toEqual([64, 64]);
  }, 180_000);
});

/** Pixels of a PNG screenshot: how much they vary (0 for a blank area). */
function spread(png: Uint8Array): number {
  const { data, channels } = decode(png);
  let min = 255;
  let max = 0;
  for (let i = 0; i < data.length; i += channels) {
    const grey = (Number(data[i]) + Number(data[i + 1]) + Number(data[i + 2])) / 3;
    min = Math.min(min, grey);
    max = Math.max(max, grey);
  }
  return max - min;
}

/** Mean absolute difference of two same-size PNG screenshots, 0..255. */
function difference(a: Uint8Array, b: Uint8Array): number {
  const x = decode(a);
  const y = decode(b);
  expect([x.width, x.height]).toEqual([y.width, y.height]);
  let sum = 0;
  for (let i = 0; i < x.data.length; i++) sum += Math.abs(Number(x.data[i]) - Number(y.data[i]));
  return sum / x.data.length;
}

/** Where the page test keeps the 65-step card's status texts, on the page's window. */
type StatusRecord = { referenceStatuses: string[] };

describe("the page at / in headless Chromium", () => {
  it("asks for a key, then shows the budget, its curves and the three images", async () => {
    const pageKey = await createKey("e2e page");
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
      const external: string[] = [];
      page.on("request", (r) => {
        if (!r.url().startsWith(EDGE) && !r.url().startsWith("blob:")) external.push(r.url());
      });
      // A Content-Security-Policy refusal (or any script error) shows up as one of these.
      const errors: string[] = [];
      page.on("console", (m) => {
        // The 401 of the keyless try is expected; Chromium logs failed fetches as errors.
        if (m.type() === "error" && !m.text().includes("401")) errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(e.message));
      const served = await page.goto(`${EDGE}/`);
      expect(served?.headers()["content-security-policy"]).toMatch(/script-src 'nonce-/);
      expect(await page.textContent("#key-hint")).toContain("requires an API key");
      const prompt = "an astronaut";
      await page.fill("#prompt", prompt);
      await page.click("#go");
      await page.waitForSelector("#error", { timeout: 30_000 });
      expect(await page.textContent("#error")).toMatch(/unauthorized.*paste an API key/);

      await page.fill("#api-key", pageKey);
      await page.click("#go");
      await page.waitForSelector("#chart", { timeout: 30_000 });
      const ref = stepBudget(bundle.expected[prompt], {
        weights: bundle.manifest.plateau.weights,
        eps: bundle.manifest.plateau.eps,
      });
      expect(await page.textContent("#tstar")).toBe(String(ref.steps));
      expect(await page.textContent("#versus")).toBe(stepsVersus(ref.steps, 65));
      for (const m of ["lsnr", "dsim", "iclip"] as const) {
        expect(await page.textContent(`#per-metric td[data-metric="${m}"]`)).toBe(
          String(ref.perMetric[m]),
        );
        const points = await page.getAttribute(`#chart polyline[data-metric="${m}"]`, "points");
        expect(points?.trim().split(/\s+/)).toHaveLength(129);
      }
      expect(await page.textContent("#x-label")).toBe("denoising steps");
      expect(await page.textContent("#y-label")).toBe("predicted metric value");
      expect(await page.locator("#chart .x-tick").count()).toBeGreaterThanOrEqual(5);
      expect(await page.locator("#chart .y-tick").count()).toBe(6);
      expect(await page.locator("#chart line#tstar-line").count()).toBe(1);
      expect(await page.locator("#chart line#reference-line").count()).toBe(1);

      // Every text the 65-step card's status line shows, recorded from before the click, so the
      // check below does not depend on catching a poll's answer while the job runs.
      await page.evaluate(() => {
        const seen: string[] = [];
        (window as unknown as StatusRecord).referenceStatuses = seen;
        const compare = document.getElementById("compare");
        if (compare === null) return;
        new MutationObserver(() => {
          const text = document.getElementById("status-reference")?.textContent ?? "";
          if (text !== seen.at(-1)) seen.push(text);
        }).observe(compare, { childList: true, characterData: true, subtree: true });
      });
      const referenceStatuses = () =>
        page.evaluate(() => (window as unknown as StatusRecord).referenceStatuses);
      await page.click("#generate");
      // Progress while the jobs run: each card has a bar and a status line until it is done.
      await page.waitForSelector("#progress-tstar", { timeout: 10_000 });
      // data-done is set once all three settled, failed or not; then each card must show its image.
      await page
        .waitForSelector("#compare[data-done]", { timeout: 240_000 })
        .catch(async (err: unknown) => {
          throw new Error(
            `${err}\nthe cards read: ${await page.textContent("#compare")}` +
              `\nthe 65-step card's status went: ${(await referenceStatuses()).join(" | ")}`,
          );
        });
      // The edge reports the worker's per-step progress: while its job ran, the 65-step card
      // showed a step the worker had reached (step 0 is the edge's own "not started there").
      const statuses = await referenceStatuses();
      expect(statuses, statuses.join(" | ")).toContainEqual(
        expect.stringMatching(/^step [1-9]\d* of 65( · about [\d.]+ s left)?$/),
      );
      expect(
        await page.getAttribute("#compare", "data-done"),
        (await page.textContent("#compare")) ?? "",
      ).toBe("3");
      const steps = { tstar: ref.steps, reference: 65, fixed: 20 };
      const shots: Record<string, Uint8Array> = {};
      for (const [kind, n] of Object.entries(steps)) {
        expect(await page.textContent(`#status-${kind}`)).toBe("done");
        expect(await page.getAttribute(`#progress-${kind}`, "value")).toBe("1");
        const facts = (await page.textContent(`#facts-${kind}`)) ?? "";
        expect(facts).toContain(`${n} steps`);
        expect(facts).toMatch(/\d+\.\d\d s GPU/);
        expect(facts).toMatch(/\d+ % of the 65-step compute/);
        expect(facts).toContain(stepsVersus(n, 65));
        const img = page.locator(`#img-${kind}`);
        expect(await img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBe(128);
        shots[kind] = new Uint8Array(await img.screenshot());
        expect(spread(shots[kind])).toBeGreaterThan(20);
      }
      expect(await page.textContent("#facts-reference")).toContain("100 % of the 65-step compute");
      // The same seed at different step counts gives different pictures.
      for (const [a, b] of [
        ["tstar", "reference"],
        ["tstar", "fixed"],
        ["reference", "fixed"],
      ] as const) {
        if (steps[a] !== steps[b]) expect(difference(shots[a], shots[b])).toBeGreaterThan(0.5);
      }
      await mkdir(SHOTS, { recursive: true });
      await page.locator("#compare").screenshot({ path: join(SHOTS, "compare.png") });
      await page.screenshot({ path: join(SHOTS, "page.png"), fullPage: true });
      await page.waitForFunction(() => document.getElementById("usage")?.textContent !== "");
      expect(await page.textContent("#usage")).toContain("3 jobs");
      expect(external).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 300_000);
});
