import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { consoleProgress, formatDuration, progressLine, progressState } from "./progress";

/** A non-TTY stream collecting lines, and a clock the test moves. */
function harness() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).trimEnd().split("\n"));
      cb();
    },
  });
  const clock = { ms: 0 };
  return { lines, stream, clock, now: () => clock.ms };
}

describe("progress", () => {
  it("computes rate and ETA from the work done since start", () => {
    // Resumed at 40 of 140; 20 more in 10 s: 2/s, 80 left -> 40 s.
    expect(progressState(60, 140, 40, 10)).toEqual({
      done: 60,
      total: 140,
      rate: 2,
      etaSeconds: 40,
    });
    expect(progressState(5, 5, 0, 1).etaSeconds).toBe(0);
    expect(progressState(0, 5, 0, 1).etaSeconds).toBe(Number.POSITIVE_INFINITY);
    expect(formatDuration(3725.4)).toBe("1:02:05");
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe("?:??:??");
    expect(progressLine("dataset", "images", progressState(60, 140, 40, 10), "p3")).toBe(
      "dataset: 60/140 images (42%) | 2.00 images/s | ETA 0:00:40 | p3",
    );
  });

  it("writes a line per 10% (or per interval) with count, rate and ETA, and one at the end", () => {
    const h = harness();
    const p = consoleProgress("metrics", {
      unit: "groups",
      stream: h.stream,
      now: h.now,
      everySeconds: 5,
    });
    p.start(40, 10);
    for (let i = 0; i < 30; i++) {
      h.clock.ms += 100;
      p.increment(1, i === 29 ? "last" : undefined);
    }
    expect(h.lines[0]).toBe("metrics: 30 of 40 groups to do");
    // 10% of 40 = 4 groups per line: at 14, 18, ..., 38, then 40 at the end.
    expect(h.lines.slice(1).map((l) => l.split(" ")[1])).toEqual([
      "14/40",
      "18/40",
      "22/40",
      "26/40",
      "30/40",
      "34/40",
      "38/40",
      "40/40",
    ]);
    expect(h.lines.at(-1)).toBe(
      "metrics: 40/40 groups (100%) | 10.0 groups/s | ETA 0:00:00 | last",
    );
    // A slow loop still reports every `everySeconds`.
    const slow = harness();
    const q = consoleProgress("train", { stream: slow.stream, now: slow.now, everySeconds: 5 });
    q.start(1000);
    slow.clock.ms += 6000;
    q.update(3, "epoch 1/9");
    expect(slow.lines.at(-1)).toBe(
      "train: 3/1000 items (0%) | 0.50 items/s | ETA 0:33:14 | epoch 1/9",
    );
  });
});
