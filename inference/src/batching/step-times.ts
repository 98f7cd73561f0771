/**
 * Measured time of one denoising iteration by batch size (UNet rows), for ETAs: an exponentially
 * weighted mean per size, so the estimate follows the machine's current speed; a size never
 * measured borrows the nearest measured one, scaled by rows (an overestimate for small batches
 * on hardware where batching is nearly free, never an underestimate from a smaller batch).
 */
const WEIGHT = 0.2;

export class StepTimes {
  private readonly bySize = new Map<number, number>();

  observe(rows: number, ms: number): void {
    const prev = this.bySize.get(rows);
    this.bySize.set(rows, prev === undefined ? ms : (1 - WEIGHT) * prev + WEIGHT * ms);
  }

  /** ms per iteration at `rows`, or undefined before any measurement. */
  estimate(rows: number): number | undefined {
    const exact = this.bySize.get(rows);
    if (exact !== undefined) return exact;
    let nearest: number | undefined;
    for (const size of this.bySize.keys()) {
      if (nearest === undefined || Math.abs(size - rows) < Math.abs(nearest - rows)) nearest = size;
    }
    if (nearest === undefined) return undefined;
    const ms = this.bySize.get(nearest) as number;
    return rows > nearest ? (ms * rows) / nearest : ms;
  }
}
