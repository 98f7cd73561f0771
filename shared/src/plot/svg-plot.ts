/**
 * The project's SVG charts, written as strings (pure, so in shared): line charts, a histogram and
 * a scatter plot with axes, ticks and a legend, for the evaluation report (SPEC §6 figures) and
 * the mini world's figures. Hand-written because three plain chart types are needed and a
 * plotting stack (vega + a headless renderer) would be most of the project's dependencies for that.
 * (The edge's page draws its chart in the browser from the API's JSON.)
 */

export interface Series {
  label: string;
  x: readonly number[];
  y: readonly number[];
  /** Dashed line (e.g. measured vs predicted). */
  dashed?: boolean;
  /** Draw markers only. */
  points?: boolean;
  color?: string;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  xLog?: boolean;
  yMin?: number;
  yMax?: number;
  /** Room right of the plot for the legend, px (default 150). */
  legendWidth?: number;
}

const PALETTE = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
];
const M = { left: 60, right: 150, top: 36, bottom: 46 };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (v: number) =>
  Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : `${+v.toFixed(3)}`;

function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const step0 = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= step0) ?? step0;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step)
    ticks.push(+v.toPrecision(12));
  return ticks;
}

/** 1-2-5 ticks across [10^lo, 10^hi] (log10 units). */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const v = +(m * 10 ** e).toPrecision(6);
      const lv = Math.log10(v);
      if (lv >= lo - 1e-9 && lv <= hi + 1e-9) ticks.push(v);
    }
  }
  return ticks;
}

function frame(o: ChartOptions, xs: number[], ys: number[]) {
  const width = o.width ?? 640;
  const height = o.height ?? 360;
  const tx = (v: number) => (o.xLog ? Math.log10(Math.max(v, 1e-12)) : v);
  let x0 = Math.min(...xs.map(tx));
  let x1 = Math.max(...xs.map(tx));
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  let y0 = o.yMin ?? Math.min(...ys);
  let y1 = o.yMax ?? Math.max(...ys);
  if (y0 === y1) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const right = o.legendWidth ?? M.right;
  const pw = width - M.left - right;
  const ph = height - M.top - M.bottom;
  // one decimal of a pixel is plenty and keeps the files small
  const r1 = (v: number) => Math.round(v * 10) / 10;
  const sx = (v: number) => r1(M.left + ((tx(v) - x0) / (x1 - x0)) * pw);
  const sy = (v: number) => r1(M.top + (1 - (v - y0) / (y1 - y0)) * ph);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${esc(o.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2 - right / 2}" y="20" text-anchor="middle" font-size="14">${esc(o.title)}</text>`,
    `<line x1="${M.left}" y1="${M.top + ph}" x2="${M.left + pw}" y2="${M.top + ph}" stroke="black"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + ph}" stroke="black"/>`,
  ];
  const xTicks = o.xLog ? logTicks(x0, x1) : niceTicks(x0, x1);
  for (const t of xTicks) {
    parts.push(
      `<line x1="${sx(t)}" y1="${M.top + ph}" x2="${sx(t)}" y2="${M.top + ph + 4}" stroke="black"/>`,
    );
    parts.push(`<text x="${sx(t)}" y="${M.top + ph + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(y0, y1)) {
    parts.push(
      `<line x1="${M.left - 4}" y1="${sy(t)}" x2="${M.left + pw}" y2="${sy(t)}" stroke="#ddd"/>`,
    );
    parts.push(`<text x="${M.left - 6}" y="${sy(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  parts.push(
    `<text x="${M.left + pw / 2}" y="${height - 8}" text-anchor="middle">${esc(o.xLabel)}</text>`,
  );
  parts.push(
    `<text x="14" y="${M.top + ph / 2}" text-anchor="middle" transform="rotate(-90 14 ${M.top + ph / 2})">${esc(o.yLabel)}</text>`,
  );
  return { parts, sx, sy, width, pw };
}

/** Line / point chart of several series sharing axes. */
export function lineChart(series: readonly Series[], o: ChartOptions): string {
  const xs = series.flatMap((s) => [...s.x]);
  const ys = series.flatMap((s) => [...s.y]);
  const { parts, sx, sy, pw } = frame(o, xs.length ? xs : [0, 1], ys.length ? ys : [0, 1]);
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    if (s.points) {
      for (const [k, x] of s.x.entries())
        parts.push(
          `<circle cx="${sx(x).toFixed(1)}" cy="${sy(s.y[k]).toFixed(1)}" r="3" fill="${color}" fill-opacity="0.7"/>`,
        );
    } else {
      const d = s.x
        .map((x, k) => `${k === 0 ? "M" : "L"}${sx(x).toFixed(1)},${sy(s.y[k]).toFixed(1)}`)
        .join("");
      parts.push(
        `<path d="${d}" fill="none" stroke="${color}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5,3"' : ""}/>`,
      );
    }
    const ly = M.top + 8 + i * 16;
    const lx = M.left + pw + 12;
    parts.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 18}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,3"' : ""}/>`,
    );
    parts.push(`<text x="${lx + 22}" y="${ly + 4}">${esc(s.label)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** Histogram of integer-valued data with unit-width bins between min and max. */
export function histogram(values: readonly number[], o: ChartOptions, bins?: number): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const n = bins ?? Math.min(40, Math.max(1, hi - lo + 1));
  const width = (hi - lo + 1) / n;
  const counts = new Array<number>(n).fill(0);
  for (const v of values) counts[Math.min(n - 1, Math.floor((v - lo) / width))]++;
  const edges = counts.map((_, i) => lo + i * width);
  const { parts, sx, sy } = frame({ ...o, yMin: 0 }, [lo, hi + 1], [0, Math.max(1, ...counts)]);
  counts.forEach((c, i) => {
    const x = sx(edges[i]);
    const w = Math.max(1, sx(edges[i] + width) - x - 1);
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${sy(c).toFixed(1)}" width="${w.toFixed(1)}" height="${(sy(0) - sy(c)).toFixed(1)}" fill="${PALETTE[0]}"/>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n");
}

interface GalleryCell {
  png: Uint8Array;
  /** Shown under the picture, e.g. the step count it was generated with. */
  caption: string;
}

export interface GalleryRow {
  /** Shown above the row, e.g. the prompt. */
  label: string;
  cells: readonly GalleryCell[];
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** RFC 4648 base64, by hand: shared/ imports nothing at run time and its lib types lack btoa. */
export function base64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=";
    out += i + 2 < bytes.length ? B64[n & 63] : "=";
  }
  return out;
}

/**
 * Pictures side by side, a caption under each and a label over each row, column headings on
 * top: images a reader compares (one prompt under several budgets). The PNGs are embedded as
 * data URIs because an SVG shown through <img> (markdown) loads nothing external.
 */
export function imageGallery(
  rows: readonly GalleryRow[],
  o: { title: string; columns: readonly string[]; imageSize: number },
): string {
  const S = o.imageSize;
  const gap = 12;
  const rowHeight = 20 + S + 20 + gap;
  const columns = Math.max(o.columns.length, ...rows.map((r) => r.cells.length));
  const width = 16 + columns * (S + gap);
  const top = 52;
  const height = top + rows.length * rowHeight;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="8" y="20" font-size="14" font-weight="bold">${esc(o.title)}</text>`,
  ];
  o.columns.forEach((c, k) => {
    parts.push(
      `<text x="${8 + k * (S + gap) + S / 2}" y="42" text-anchor="middle" font-weight="bold">${esc(c)}</text>`,
    );
  });
  rows.forEach((row, r) => {
    const y = top + r * rowHeight;
    const label = row.label.length > 110 ? `${row.label.slice(0, 107)}...` : row.label;
    parts.push(`<text x="8" y="${y + 14}">${esc(label)}</text>`);
    row.cells.forEach((cell, k) => {
      const x = 8 + k * (S + gap);
      parts.push(
        `<image x="${x}" y="${y + 20}" width="${S}" height="${S}" href="data:image/png;base64,${base64(cell.png)}"/>`,
      );
      parts.push(
        `<text x="${x + S / 2}" y="${y + 20 + S + 15}" text-anchor="middle">${esc(cell.caption)}</text>`,
      );
    });
  });
  parts.push("</svg>");
  return parts.join("\n");
}
