/**
 * Counters that many requests add to and that are written to D1 together: an add lands in this
 * isolate's memory, and the first add after a write schedules the next write `windowMs` later,
 * handed to that request's waitUntil. One statement then carries every request of the window,
 * off every response path. Measured under `wrangler dev`: one D1 upsert per budget request was
 * ~6 ms of the edge's CPU per request, more than everything else a cached budget costs
 * (docs/notes/paper-size-edge.md).
 *
 * Counts are exact, only late by at most a window: a failed write puts its counts back for the
 * next one (a D1 statement is atomic, none of it applied). The runtime keeps a request's
 * waitUntil work running after its response, so only an isolate that crashes inside a window
 * loses that window's counts.
 */
export type Counts<F extends string> = Partial<Record<F, number>>;

export interface CounterRow<K, F extends string> {
  key: K;
  counts: Counts<F>;
}

export class CoalescedCounters<K, F extends string> {
  readonly #pending = new Map<string, CounterRow<K, F>>();
  #scheduled = false;

  constructor(
    /** Writes rows of distinct keys, at most `rowsPerWrite`, in one atomic statement. */
    private readonly write: (rows: CounterRow<K, F>[]) => Promise<void>,
    /** The key's identity in the pending map. */
    private readonly idOf: (key: K) => string,
    private readonly o: { windowMs: number; rowsPerWrite: number },
  ) {}

  /** Adds `counts` to `key`'s pending row; `defer` runs the scheduled write after the response. */
  add(key: K, counts: Counts<F>, defer: (work: Promise<unknown>) => void): void {
    this.#merge({ key, counts });
    if (this.#scheduled) return;
    this.#scheduled = true;
    defer(this.#writeAfterWindow());
  }

  /** Rows added and not yet written (GET /metrics could show it; tests read it). */
  pendingRows(): number {
    return this.#pending.size;
  }

  #merge(row: CounterRow<K, F>) {
    const id = this.idOf(row.key);
    const into = this.#pending.get(id);
    if (into === undefined) {
      this.#pending.set(id, { key: row.key, counts: { ...row.counts } });
      return;
    }
    for (const [field, by] of Object.entries(row.counts) as [F, number][]) {
      into.counts[field] = (into.counts[field] ?? 0) + by;
    }
  }

  async #writeAfterWindow(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.o.windowMs));
    const rows = [...this.#pending.values()];
    this.#pending.clear();
    this.#scheduled = false;
    for (let start = 0; start < rows.length; start += this.o.rowsPerWrite) {
      try {
        await this.write(rows.slice(start, start + this.o.rowsPerWrite));
      } catch (err) {
        // This statement applied nothing and the later ones never ran: all theirs go back.
        for (const row of rows.slice(start)) this.#merge(row);
        throw err;
      }
    }
  }
}
