import { describe, expect, it } from "vitest";
import { CoalescedCounters, type CounterRow } from "./coalesced-counters";

type Row = CounterRow<string, "n" | "sum">;

/** Counters over a fake store that can be told to fail its next writes. */
function setup(rowsPerWrite = 16) {
  const stored = new Map<string, { n: number; sum: number }>();
  const writes: Row[][] = [];
  const deferred: Promise<unknown>[] = [];
  let failures = 0;
  const counters = new CoalescedCounters<string, "n" | "sum">(
    async (rows) => {
      if (failures > 0) {
        failures--;
        throw new Error("D1 unavailable");
      }
      writes.push(rows);
      for (const { key, counts } of rows) {
        const into = stored.get(key) ?? { n: 0, sum: 0 };
        into.n += counts.n ?? 0;
        into.sum += counts.sum ?? 0;
        stored.set(key, into);
      }
    },
    (key) => key,
    { windowMs: 5, rowsPerWrite },
  );
  const add = (key: string, sum: number) =>
    counters.add(key, { n: 1, sum }, (work) => deferred.push(work));
  const settle = async () => {
    const results = await Promise.allSettled(deferred.splice(0));
    return results.filter((r) => r.status === "rejected").length;
  };
  return { counters, stored, writes, add, settle, failNext: (k: number) => (failures = k) };
}

describe("coalesced counters", () => {
  it("writes a window's adds in one write, summed per key, after the adding call returns", async () => {
    const t = setup();
    for (let i = 1; i <= 10; i++) t.add(i % 2 === 0 ? "even" : "odd", i);
    expect(t.writes).toHaveLength(0);
    expect(t.counters.pendingRows()).toBe(2);
    expect(await t.settle()).toBe(0);
    expect(t.writes).toHaveLength(1);
    expect(Object.fromEntries(t.stored)).toEqual({
      even: { n: 5, sum: 2 + 4 + 6 + 8 + 10 },
      odd: { n: 5, sum: 1 + 3 + 5 + 7 + 9 },
    });
    expect(t.counters.pendingRows()).toBe(0);
  });

  it("schedules a new write for adds after a write, so none is left behind", async () => {
    const t = setup();
    t.add("a", 1);
    await t.settle();
    t.add("a", 2);
    t.add("b", 3);
    await t.settle();
    expect(t.writes).toHaveLength(2);
    expect(Object.fromEntries(t.stored)).toEqual({ a: { n: 2, sum: 3 }, b: { n: 1, sum: 3 } });
  });

  it("splits a window into writes of at most rowsPerWrite rows", async () => {
    const t = setup(3);
    for (let i = 0; i < 8; i++) t.add(`k${i}`, i);
    await t.settle();
    expect(t.writes.map((w) => w.length)).toEqual([3, 3, 2]);
    expect(t.stored.size).toBe(8);
  });

  it("puts the counts of a failed write back and writes them with the next window, once", async () => {
    const t = setup(2);
    for (let i = 0; i < 5; i++) t.add(`k${i}`, 10);
    t.failNext(1);
    expect(await t.settle()).toBe(1);
    expect(t.stored.size).toBe(0);
    expect(t.counters.pendingRows()).toBe(5);
    t.add("k0", 5);
    expect(await t.settle()).toBe(0);
    expect(Object.fromEntries(t.stored)).toEqual({
      k0: { n: 2, sum: 15 },
      k1: { n: 1, sum: 10 },
      k2: { n: 1, sum: 10 },
      k3: { n: 1, sum: 10 },
      k4: { n: 1, sum: 10 },
    });
  });
});
