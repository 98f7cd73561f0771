import { describe, expect, it } from "vitest";
import { activeShards, jobShard, parseShard, shardShares, shardsForWorker } from "./shards";

describe("dispatcher shards", () => {
  it("put a job in one shard of its model, the same every time, spread evenly", () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const id = crypto.randomUUID();
      const shard = jobShard("stabilityai/sd2", id, 4);
      expect(jobShard("stabilityai/sd2", id, 4)).toBe(shard);
      counts.set(shard, (counts.get(shard) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([0, 1, 2, 3].map((i) => `stabilityai/sd2/${i}`));
    for (const n of counts.values()) expect(Math.abs(n - 1000)).toBeLessThan(120);
    expect(jobShard(undefined, "any", 1)).toBe("*/0");
  });

  it("parse back their names, model ids with slashes included", () => {
    expect(parseShard("stabilityai/sd2/3")).toEqual({
      name: "stabilityai/sd2/3",
      modelId: "stabilityai/sd2",
      index: 3,
    });
    expect(parseShard("*/0")).toEqual({ name: "*/0", modelId: undefined, index: 0 });
    expect(() => parseShard("global")).toThrow(/not a dispatcher shard name/);
    expect(() => parseShard("m/x")).toThrow(/not a dispatcher shard name/);
  });

  it("wake a worker's model shards and the model-less ones", () => {
    expect(shardsForWorker("m", 2).sort()).toEqual(["*/0", "*/1", "m/0", "m/1"]);
  });

  it("deal a pool's slots over the shards: each worker's shares add up to its capacity", () => {
    const pools = [
      [{ id: "a", capacity: 8 }],
      [
        { id: "a", capacity: 1 },
        { id: "b", capacity: 1 },
        { id: "c", capacity: 1 },
      ],
      [
        { id: "a", capacity: 3 },
        { id: "b", capacity: 2 },
        { id: "c", capacity: 5 },
      ],
      [
        { id: "a", capacity: 100 },
        { id: "b", capacity: 7 },
      ],
    ];
    for (const pool of pools) {
      const shares = [0, 1, 2].map((i) => shardShares(pool, i, 3));
      const total = pool.reduce((n, w) => n + w.capacity, 0);
      for (const w of pool) {
        expect(shares.reduce((n, m) => n + (m.get(w.id) ?? 0), 0)).toBe(w.capacity);
      }
      const perShard = shares.map((m) => [...m.values()].reduce((n, v) => n + v, 0));
      expect(perShard.every((n) => n === Math.floor(total / 3) || n === Math.ceil(total / 3))).toBe(
        true,
      );
    }
  });

  it("keep a small pool's jobs in as many shards as it has slots; a shard dealt none borrows one", () => {
    expect(activeShards(4, 1)).toBe(1);
    expect(activeShards(4, 3)).toBe(3);
    expect(activeShards(4, 64)).toBe(4);
    expect(activeShards(4, 0)).toBe(1);
    const pool = [{ id: "only", capacity: 2 }];
    expect([0, 1, 2, 3].map((i) => shardShares(pool, i, 4).get("only"))).toEqual([1, 1, 1, 1]);
    expect(shardShares([], 0, 4).size).toBe(0);
  });
});
