/** Mean and standard error over prompts, as every Eq. 9 and t* summary reports them. */
export interface Stat {
  mean: number;
  stderr: number;
  n: number;
}

export function stat(values: readonly number[]): Stat {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, stderr: Number.NaN, n };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, stderr: Math.sqrt(variance / n), n };
}

/** Eq. 9 over prompts: mean and stderr of q(a)/q(b) - 1, skipping (and counting) q(b) = 0. */
export function relativeQuality(
  n: number,
  q: (i: number, which: "a" | "b") => number,
): Stat & { skipped: number } {
  const ratios: number[] = [];
  for (let i = 0; i < n; i++) {
    const b = q(i, "b");
    if (b !== 0) ratios.push(q(i, "a") / b - 1);
  }
  return { ...stat(ratios), skipped: n - ratios.length };
}
