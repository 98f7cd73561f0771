/**
 * The exit-code policy of cli.ts, on the real processes of every training CLI: --help exits 0
 * with the help on stdout; a wrong command line exits 2 with one stderr line naming the flag; a
 * failure while running exits 1.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../../..");
const CLIS = ["pipeline", "train", "sample", "deploy", "convert-lsnr"] as const;

function run(cli: string, ...args: string[]) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
    const p = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "training/src/cli", `${cli}.ts`), ...args],
      { cwd: ROOT, env: { ...process.env, ADMIN_TOKEN: "" } },
    );
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c) => (stdout += c));
    p.stderr.on("data", (c) => (stderr += c));
    p.on("close", (status) => done({ status, stdout, stderr }));
  });
}

const lines = (s: string) => s.trim().split("\n");

describe("training CLIs", () => {
  it.each(CLIS)("%s --help exits 0 and prints the generated help", async (cli) => {
    const r = await run(cli, "--help");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: .* \[flags\]/);
    expect(r.stdout).toContain("-h, --help");
    expect(r.stderr).toBe("");
  });

  it.each(CLIS)("%s --bogus exits 2 with one line naming the flag", async (cli) => {
    const r = await run(cli, "--bogus");
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toEqual([`${cli}: unknown option '--bogus'`]);
  });

  it.each([
    ["pipeline", ["--seeds", "many"], /^pipeline: --seeds: /],
    ["pipeline", ["--smoke"], /^pipeline: --smoke needs --fixtures/],
    [
      "pipeline",
      ["--model", "m", "--clip", "c", "--prompts", "p", "--set-default"],
      /--set-default needs --publish/,
    ],
    ["sample", ["--clip", "c", "--out", "o"], /^sample: --captions: /],
    ["deploy", ["--edge", "not a url", "--token", "t", "--bundle", "b"], /^deploy: --edge: /],
    ["deploy", ["--edge", "http://127.0.0.1:9", "--bundle", "b"], /^deploy: --token: required/],
    [
      "convert-lsnr",
      ["--bundle", "artifacts/bundles/mini-world-30107bce", "--version", "no spaces"],
      /^convert-lsnr: --version: /,
    ],
  ])("%s %j exits 2 naming the flag", async (cli, args, message) => {
    const r = await run(cli, ...(args as string[]));
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(message as RegExp);
  });

  it("a failure while running exits 1 with the message first", async () => {
    // A valid bundle, an edge that is not there: the upload fails.
    const bundle = join(ROOT, "artifacts/bundles/mini-world-30107bce");
    const r = await run(
      "deploy",
      "--edge",
      "http://127.0.0.1:9",
      "--token",
      "t",
      "--bundle",
      bundle,
    );
    expect(r.status).toBe(1);
    expect(lines(r.stderr)[0]).toMatch(/^deploy: fetch failed/);
  });

  it("convert-lsnr on a bundle that already serves S/(S+N) exits 1 and writes nothing", async () => {
    const r = await run(
      "convert-lsnr",
      "--bundle",
      join(ROOT, "artifacts/bundles/mini-world-30107bce-signal-share"),
      "--out",
      join(ROOT, "artifacts/does-not-exist"),
    );
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(/^convert-lsnr: .*already outputs "signal_share"/),
    ]);
    expect(existsSync(join(ROOT, "artifacts/does-not-exist"))).toBe(false);
  });
});
