import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { captionLines, isUsableCaption, readCaptions } from "./caption-source";
import { orderCaptions, splitByPrompt } from "./sample-prompts";

describe("caption source", () => {
  it("drops junk: too short, too few words, no letters, URLs", () => {
    expect(isUsableCaption("A black Honda motorcycle parked in front of a garage.")).toBe(true);
    expect(isUsableCaption("a cat")).toBe(false);
    expect(isUsableCaption("supercalifragilistic")).toBe(false);
    expect(isUsableCaption("12345 67890 1234")).toBe(false);
    expect(isUsableCaption("see http://example.com/cat for a cat")).toBe(false);
    expect(isUsableCaption("!!! ??? ### *** a b")).toBe(false);
  });

  it("reads a TSV column and de-duplicates case-insensitively in file order", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bf-captions-"));
    const path = join(dir, "c.tsv");
    await writeFile(
      path,
      "id\tcaption\n1\tA dog runs on the beach.\n2\t  a dog   runs on the BEACH.  \n3\twww.x.com is a site\n4\tTwo cats sleep on a sofa.\n",
    );
    const res = await readCaptions(path);
    expect(res.captions).toEqual(["A dog runs on the beach.", "Two cats sleep on a sofa."]);
    expect(res).toMatchObject({ total: 4, junk: 1, duplicates: 1 });
    expect(() => captionLines("a\tb\n", "x.tsv", { column: "caption" })).toThrow(/caption/);
  });

  it("reads several sources in order and de-duplicates across them", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bf-captions-"));
    const a = join(dir, "a.txt");
    const b = join(dir, "b.tsv");
    await writeFile(a, "A dog runs on the beach.\nA red ball on a white floor\n");
    await writeFile(
      b,
      "category\tcaption\nx\ta dog runs on the beach.\ny\tThree green apples on a table\n",
    );
    const res = await readCaptions([a, b]);
    expect(res.captions).toEqual([
      "A dog runs on the beach.",
      "A red ball on a white floor",
      "Three green apples on a table",
    ]);
    expect(res).toMatchObject({ total: 4, duplicates: 1 });
  });

  it("orders by a seeded hash independent of file position, or keeps file order", () => {
    const a = ["one two three", "four five six", "seven eight nine", "ten eleven twelve"];
    const shuffled = orderCaptions(a, "shuffle", 7);
    expect([...shuffled].sort()).toEqual([...a].sort());
    expect(orderCaptions([...a].reverse(), "shuffle", 7)).toEqual(shuffled);
    expect(orderCaptions(a, "file", 7)).toEqual(a);
  });

  it("holds out ceil(10%) of prompts, deterministically per seed", () => {
    const texts = Array.from({ length: 25 }, (_, i) => `prompt number ${i}`);
    const test = splitByPrompt(texts, 0, 0.1);
    expect(test.filter(Boolean)).toHaveLength(3);
    expect(splitByPrompt(texts, 0, 0.1)).toEqual(test);
    expect(splitByPrompt(texts, 1, 0.1)).not.toEqual(test);
  });
});
