import { describe, expect, it } from "vitest";
import {
  MINI_WORLD_PRESET,
  pipelineArgsSchema,
  resolvePipelineOptions,
  SMOKE_PRESET,
} from "./pipeline-options";

const parse = (values: Record<string, unknown>) =>
  resolvePipelineOptions(pipelineArgsSchema.parse(values), new Set(Object.keys(values)));

describe("pipeline options", () => {
  it("--smoke needs an explicit --fixtures folder", () => {
    expect(() => parse({ smoke: true })).toThrow(/--fixtures/);
  });

  it("--smoke fills the tiny preset and fixture paths; explicit flags win", () => {
    const o = parse({ smoke: true, fixtures: "/fx", seeds: "3" });
    expect(o.model).toBe("/fx/tiny-sd2");
    expect(o.clip).toBe("/fx/tiny-clip");
    expect(o.dreamsim).toBe("/fx/tiny-clip");
    expect(o["max-prompts"]).toBe(SMOKE_PRESET["max-prompts"]);
    expect(o.width).toBe(64);
    expect(o.seeds).toBe(3);
    expect(o.out).toBe("runs/smoke");
    // The bundle stays in the run folder (ignored by git) unless published.
    expect(o["bundles-dir"]).toBe("runs/smoke/bundles");
    expect(o.publish).toBe(false);
  });

  it("--log-quality lists metrics, 'none' for none, and names the flag on a bad one", () => {
    const base = { model: "m", clip: "c", prompts: "p" };
    expect(parse(base)["log-quality"]).toEqual([]);
    expect(parse({ ...base, "log-quality": "lsnr" })["log-quality"]).toEqual(["lsnr"]);
    expect(parse({ ...base, "log-quality": "lsnr, iclip" })["log-quality"]).toEqual([
      "lsnr",
      "iclip",
    ]);
    expect(() => parse({ ...base, "log-quality": "ssim" })).toThrow(/log-quality/);
  });

  it("--publish and --set-default go together, with the bundle stage", () => {
    const base = { model: "m", clip: "c", prompts: "p" };
    expect(parse({ ...base, publish: true, "set-default": true })["set-default"]).toBe(true);
    expect(() => parse({ ...base, "set-default": true })).toThrow(/--set-default needs --publish/);
    expect(() => parse({ ...base, publish: true, until: "train" })).toThrow(/^--publish/);
    expect(parse({ ...base, out: "/r", "bundles-dir": "/b" })["bundles-dir"]).toBe("/b");
    expect(parse({ ...base, out: "/r" })["bundles-dir"]).toBe("/r/bundles");
  });

  it("--mini-world needs --data and fills the committed run's settings; explicit flags win", () => {
    expect(() => parse({ "mini-world": true })).toThrow(/--data/);
    const o = parse({ "mini-world": true, data: "/d", world: "v1", "max-prompts": "50" });
    expect(o.model).toBe("artifacts/models/mini-world");
    expect(o.dreamsim).toBe("artifacts/models/mini-world-dreamsim");
    expect(o.prompts.split(",")).toHaveLength(10);
    expect(o.prompts.split(",")[0]).toBe("/d/prompts/coco/coco_val2017_captions.txt");
    expect(o.guidance).toBe(1);
    expect(o["tail-pad"]).toBe(MINI_WORLD_PRESET["tail-pad"]);
    expect(o["max-prompts"]).toBe(50);
    expect(o.out).toBe("runs/mini-world");
    expect(o.width).toBe(128);
  });

  it("--world picks the mini world's model folders and run name; an unknown world is refused", () => {
    const o = parse({ "mini-world": true, data: "/d", world: "v2" });
    expect(o.model).toBe("artifacts/models/mini-world-v2");
    expect(o.clip).toBe("artifacts/models/mini-world-v2-clip");
    expect(o.dreamsim).toBe("artifacts/models/mini-world-v2-dreamsim");
    expect(o.out).toBe("runs/mini-world-v2");
    expect([o.width, o.height, o.guidance]).toEqual([128, 128, 1]);
    // v2 is the default world; its claim-run preset sits over the mini-world one.
    const byDefault = parse({ "mini-world": true, data: "/d" });
    expect(byDefault.model).toBe("artifacts/models/mini-world-v2");
    expect([byDefault["max-prompts"], byDefault["gen-batch"], byDefault.variants]).toEqual([
      100_000,
      32,
      ["full"],
    ]);
    expect(parse({ "mini-world": true, data: "/d", "max-prompts": "50" })["max-prompts"]).toBe(50);
    // The envelope on the metrics whose measured curves are monotone; weights chosen on validation.
    expect(byDefault["curve-envelope"]).toEqual(["dsim", "iclip"]);
    expect(byDefault["allocate-weights"]).toBe("auto");
    expect(
      parse({ "mini-world": true, data: "/d", "allocate-weights": " auto" })["allocate-weights"],
    ).toBe("auto");
    expect(
      parse({ "mini-world": true, data: "/d", "allocate-weights": "0.5, 0.25,0.25" })[
        "allocate-weights"
      ],
    ).toEqual([0.5, 0.25, 0.25]);
    expect(() => parse({ "mini-world": true, data: "/d", "allocate-weights": "0.5,0.5" })).toThrow(
      /allocate-weights/,
    );
    expect(() => parse({ "mini-world": true, data: "/d", "allocate-weights": "best" })).toThrow(
      /allocate-weights/,
    );
    // The seed ensemble: one member per head by default (the paper's single model).
    const ensemble = (v: string) => parse({ "mini-world": true, data: "/d", ensemble: v }).ensemble;
    expect(byDefault.ensemble).toEqual([3, 1, 1]);
    expect(parse({ smoke: true, fixtures: "/f" }).ensemble).toEqual([1, 1, 1]);
    expect(ensemble("3, 1,1")).toEqual([3, 1, 1]);
    for (const bad of ["3", "0,1,1", "9,1,1", "1.5,1,1", "a,1,1"])
      expect(() => ensemble(bad)).toThrow(/ensemble/);
    // The dead zone: none by default (the paper's export), auto or one δ per metric.
    const deadZone = (v: string) =>
      parse({ "mini-world": true, data: "/d", "curve-dead-zone": v })["curve-dead-zone"];
    expect(byDefault["curve-dead-zone"]).toBe("none");
    expect(deadZone(" auto ")).toBe("auto");
    expect(deadZone("0, 0.05,0.1")).toEqual([0, 0.05, 0.1]);
    for (const bad of ["0.05", "0,0.05,-1", "0,x,0", "always"])
      expect(() => deadZone(bad)).toThrow(/curve-dead-zone/);
    expect(
      parse({ "mini-world": true, data: "/d", "curve-envelope": "all" })["curve-envelope"],
    ).toEqual(["lsnr", "dsim", "iclip"]);
    expect(() => parse({ "mini-world": true, data: "/d", "curve-envelope": "lsnr,ssim" })).toThrow(
      /curve-envelope/,
    );
    expect(() => parse({ "mini-world": true, data: "/d", "curve-output": "dense" })).toThrow(
      /--curve-envelope needs --curve-output grid/,
    );
    expect(
      parse({ "mini-world": true, data: "/d", "curve-output": "dense", "curve-envelope": "none" })[
        "curve-envelope"
      ],
    ).toEqual([]);
    expect(() => parse({ "mini-world": true, data: "/d", world: "v3" })).toThrow(/world/);
  });

  it("names the missing or bad flag", () => {
    expect(() => parse({ clip: "c", prompts: "p" })).toThrow(/--model/);
    expect(() => parse({ model: "m", clip: "c", prompts: "p", scheduler: "[1]" })).toThrow(
      /--scheduler/,
    );
    expect(() => parse({ model: "m", clip: "c", prompts: "p", variants: "full,bogus" })).toThrow(
      /bogus/,
    );
    expect(() => pipelineArgsSchema.parse({ epochs: "1,x,3" })).toThrow();
  });

  it("--edge-form ships no edge form unless asked, and takes only its choices", () => {
    const base = { model: "m", clip: "c", prompts: "p" };
    expect(parse(base)["edge-form"]).toBe("none");
    expect(parse({ ...base, "edge-form": "distilled" })["edge-form"]).toBe("distilled");
    expect(() => pipelineArgsSchema.parse({ "edge-form": "bogus" })).toThrow(/none.*distilled/s);
  });

  it("parses epochs per metric and scheduler overrides", () => {
    const o = parse({
      model: "/m/sd2",
      clip: "c",
      prompts: "p",
      epochs: "25,25,50",
      scheduler: '{"timestep_spacing":"trailing"}',
    });
    expect(o.epochs).toEqual([25, 25, 50]);
    expect(o.scheduler).toEqual({ timestep_spacing: "trailing" });
    expect(o.name).toBe("sd2");
    expect(o.out).toBe("runs/sd2");
  });
});
