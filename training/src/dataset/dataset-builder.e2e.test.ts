import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { openDatasetDb } from "../db/open-dataset-db";
import { images } from "../db/schema";
import { buildDataset } from "./dataset-builder";
import { type GenerationRequest, noiseSeed } from "./generator";
import { imageRelPath, sha256Hex } from "./image-files";
import { CHILD_PROMPTS, CHILD_SEEDS, CHILD_STEPS } from "./test-support/build-child-config";

const CHILD = join(dirname(fileURLToPath(import.meta.url)), "test-support", "build-child.ts");
const TOTAL = CHILD_PROMPTS.length * CHILD_STEPS.length * CHILD_SEEDS;

function startChild(runDir: string, log: string, tag: string) {
  return spawn(process.execPath, ["--import", "tsx", CHILD, runDir, log, tag], {
    stdio: ["ignore", "ignore", "pipe"],
  });
}

async function listPngs(runDir: string): Promise<string[]> {
  const root = join(runDir, "images");
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const d of await readdir(root))
    for (const f of await readdir(join(root, d)))
      if (f.endsWith(".png")) out.push(`images/${d}/${f}`);
  return out;
}

describe("dataset builder resumability (real kill -9 of a child process)", () => {
  it("resumes without duplicates or gaps and never regenerates a finished image", async () => {
    const runDir = await mkdtemp(join(tmpdir(), "bf-dataset-"));
    const log = join(runDir, "generations.log");

    const first = startChild(runDir, log, "run1");
    const firstExit = new Promise<number | null>((r) => first.on("exit", (code) => r(code)));
    // Kill once a third of the images exist, mid-run.
    for (let i = 0; i < 600 && (await listPngs(runDir)).length < TOTAL / 3; i++)
      await new Promise((r) => setTimeout(r, 20));
    first.kill("SIGKILL");
    await firstExit;

    const finished = await listPngs(runDir);
    expect(finished.length).toBeGreaterThan(0);
    expect(finished.length).toBeLessThan(TOTAL);
    const mtimes = new Map(finished.map((f) => [f, statSync(join(runDir, f)).mtimeMs]));

    const second = startChild(runDir, log, "run2");
    let stderr = "";
    second.stderr.on("data", (b) => {
      stderr += String(b);
    });
    const code = await new Promise<number | null>((r) => second.on("exit", (c) => r(c)));
    expect(stderr).toBe("");
    expect(code).toBe(0);

    const db = openDatasetDb(join(runDir, "dataset.sqlite"));
    const rows = db.select().from(images).all();
    db.$client.close();
    // exactly one row per protocol key
    expect(rows).toHaveLength(TOTAL);
    expect(new Set(rows.map((r) => `${r.promptId}/${r.steps}/${r.seed}`)).size).toBe(TOTAL);
    for (const r of rows) expect(sha256Hex(readFileSync(join(runDir, r.file)))).toBe(r.sha256);
    expect(await listPngs(runDir)).toHaveLength(TOTAL);

    // files finished before the kill were neither rewritten nor regenerated
    const run2 = new Set(
      readFileSync(log, "utf8")
        .split("\n")
        .filter((l) => l.startsWith("run2 "))
        .map((l) => l.slice(5)),
    );
    expect(run2.size).toBe(TOTAL - finished.length);
    for (const f of finished) {
      expect(statSync(join(runDir, f)).mtimeMs).toBe(mtimes.get(f));
      const m = /p(\d+)\/s(\d+)_t(\d+)\.png$/.exec(f);
      expect(m).not.toBeNull();
      const [p, s, t] = [Number(m?.[1]), Number(m?.[2]), Number(m?.[3])];
      expect(run2.has(`${p}/${t}/${noiseSeed(p, s)}`)).toBe(false);
    }
  }, 60_000);

  it("gives every step count of one (prompt, seed) the same noise seed, and different seeds differ", () => {
    const a = noiseSeed(3, 0);
    expect(noiseSeed(3, 0)).toBe(a);
    expect(noiseSeed(3, 1)).not.toBe(a);
    expect(noiseSeed(4, 0)).not.toBe(a);
    expect(Number.isInteger(a) && a >= 0 && a <= 0xffffffff).toBe(true);
  });

  it("reconciles an orphan file, deletes temporary files, regenerates a row whose file is gone", async () => {
    const runDir = await mkdtemp(join(tmpdir(), "bf-reconcile-"));
    const db = openDatasetDb(join(runDir, "dataset.sqlite"));
    const calls: GenerationRequest[] = [];
    const generator = {
      modelId: "fake",
      async generate(req: GenerationRequest) {
        calls.push(req);
        return { png: new Uint8Array([req.steps, req.seed % 256]), ms: 1 };
      },
      async close() {},
    };
    const settings = { stepGrid: [1, 129], seeds: 1, guidanceScale: 7.5, width: 8, height: 8 };
    const prompts = [{ id: 7, text: "a cat on a mat", split: "train" as const }];
    await buildDataset({ runDir, db, generator, prompts, ...settings });
    expect(calls).toHaveLength(2);
    // kill between rename and insert: file without row; kill before rename: a temporary file;
    // a file lost after its row was written
    db.delete(images).run();
    db.insert(images)
      .values({
        promptId: 7,
        steps: 1,
        seed: 0,
        file: imageRelPath({ promptId: 7, steps: 1, seed: 0 }),
        sha256: "x",
        bytes: 2,
        genMs: 1,
        createdAt: "t",
      })
      .run();
    await rm(join(runDir, imageRelPath({ promptId: 7, steps: 1, seed: 0 })));
    await mkdir(join(runDir, "images/p7"), { recursive: true });
    await writeFile(join(runDir, "images/p7/s0_t1.png.tmp-1-abc"), "partial");
    calls.length = 0;
    const report = await buildDataset({ runDir, db, generator, prompts, ...settings });
    expect(report).toMatchObject({ reconciled: 1, droppedRows: 1, removedTmp: 1, generated: 1 });
    expect(calls.map((c) => c.steps)).toEqual([1]);
    expect(db.select().from(images).all()).toHaveLength(2);
    expect(await readdir(join(runDir, "images/p7"))).toEqual(
      expect.arrayContaining(["s0_t1.png", "s0_t129.png"]),
    );
    await expect(
      buildDataset({ runDir, db, generator, prompts, ...settings, guidanceScale: 5 }),
    ).rejects.toThrow(/other settings/);
    db.$client.close();
  });
});
