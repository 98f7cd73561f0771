import { describe, expect, it } from "vitest";
import { base64, histogram, imageGallery, lineChart } from "./svg-plot";

describe("svg plots", () => {
  it("draws one path per line series, markers for point series, a legend entry each, escaped text", () => {
    const svg = lineChart(
      [
        { label: "a <b>", x: [1, 2, 3], y: [0, 0.5, 1] },
        { label: "pts", x: [1, 3], y: [1, 0], points: true },
      ],
      { title: "T & t", xLabel: "x", yLabel: "y" },
    );
    expect(svg.match(/<path /g)).toHaveLength(1);
    expect(svg.match(/<circle /g)).toHaveLength(2);
    expect(svg).toContain("a &lt;b&gt;");
    expect(svg).toContain("T &amp; t");
    expect(svg.startsWith("<svg") && svg.endsWith("</svg>")).toBe(true);
  });

  it("labels a log axis with 1-2-5 ticks even below 1", () => {
    const svg = lineChart([{ label: "s", x: [0.001, 0.03], y: [0, 1] }], {
      title: "",
      xLabel: "",
      yLabel: "",
      xLog: true,
    });
    for (const t of ["1.0e-3", "2.0e-3", "5.0e-3", "0.01", "0.02"])
      expect(svg).toContain(`>${t}</text>`);
  });

  it("histogram: one bar per integer value between min and max, heights by count", () => {
    const svg = histogram([1, 1, 2, 4], { title: "", xLabel: "", yLabel: "" });
    const heights = [
      ...svg.matchAll(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)"/g),
    ].map((m) => Number(m[1]));
    expect(heights).toHaveLength(4);
    expect(heights[0]).toBeCloseTo(2 * heights[1], 0);
    expect(heights[2]).toBe(0);
  });

  it("legendWidth moves the legend: the plot ends that far from the right edge", () => {
    const legendX = (svg: string) => Number(/<line x1="([\d.]+)" y1="44" x2=/.exec(svg)?.[1]);
    const series = [{ label: "a long prompt", x: [1, 2], y: [0, 1] }];
    const o = { title: "", xLabel: "", yLabel: "", width: 640 };
    expect(legendX(lineChart(series, o))).toBe(640 - 150 + 12);
    expect(legendX(lineChart(series, { ...o, legendWidth: 220 }))).toBe(640 - 220 + 12);
  });
});

describe("image gallery", () => {
  it("base64 matches RFC 4648 test vectors", () => {
    const enc = (s: string) => base64(new TextEncoder().encode(s));
    expect([
      enc(""),
      enc("f"),
      enc("fo"),
      enc("foo"),
      enc("foob"),
      enc("fooba"),
      enc("foobar"),
    ]).toEqual(["", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"]);
  });

  it("embeds every picture with its caption under it and escapes the labels", () => {
    const png = new Uint8Array([137, 80, 78, 71]);
    const svg = imageGallery(
      [
        {
          label: "a <red> ball",
          cells: [
            { png, caption: "OURS: 9 steps" },
            { png, caption: "UNIFORM: 20 steps" },
          ],
        },
        {
          label: "a wall",
          cells: [
            { png, caption: "OURS: 2 steps" },
            { png, caption: "UNIFORM: 20 steps" },
          ],
        },
      ],
      { title: "t", columns: ["OURS", "UNIFORM"], imageSize: 64 },
    );
    expect(svg.match(/<image /g)).toHaveLength(4);
    expect(svg).toContain('href="data:image/png;base64,iVBORw=="');
    expect(svg).toContain("a &lt;red&gt; ball");
    expect(svg).toContain("UNIFORM: 20 steps");
    expect(svg.startsWith("<svg") && svg.endsWith("</svg>")).toBe(true);
  });
});
