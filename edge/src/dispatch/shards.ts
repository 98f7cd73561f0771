/**
 * Dispatcher shards. A job belongs to one shard for its whole life: its diffusion model and a
 * hash of its id within the model, `<model>/<index>` (`*` for jobs that name no model), stored on
 * the job row (jobs.dispatch_shard) and used as the Durable Object's name. Each shard dispatches
 * only its own jobs, onto its share of the live workers' slots (shardShares), so shards never
 * coordinate: every guarantee is per job (conditional completion by attempt, the deadline it carries, the
 * Idempotency-Key being its id). The shard count (DISPATCHER_SHARDS) may change at any time: a
 * job keeps the shard it was given, and a shard past the new count drains on its own alarm.
 */

/** The shard of jobs whose request names no diffusion model (any worker may run them). */
const ANY_MODEL = "*";

export interface Shard {
  /** `<model>/<index>`: the Durable Object's name and the jobs' dispatch_shard. */
  name: string;
  modelId: string | undefined;
  index: number;
}

/**
 * FNV-1a, 32 bits: a stable, well-spread hash of short ids that needs no async digest (job ids
 * are UUIDs already; this only has to split them evenly), so written here rather than imported.
 */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function shardName(modelId: string | undefined, index: number): string {
  return `${modelId ?? ANY_MODEL}/${index}`;
}

/** The shard that owns a new job. */
export function jobShard(modelId: string | undefined, jobId: string, shards: number): string {
  return shardName(modelId, fnv1a(jobId) % shards);
}

/** Every shard that may dispatch to a worker of `modelId`: its model's, and the model-less ones. */
export function shardsForWorker(modelId: string, shards: number): string[] {
  const names: string[] = [];
  for (let i = 0; i < shards; i++) names.push(shardName(modelId, i), shardName(undefined, i));
  return names;
}

export function parseShard(name: string): Shard {
  const cut = name.lastIndexOf("/");
  const model = name.slice(0, cut);
  const index = Number(name.slice(cut + 1));
  if (cut <= 0 || !Number.isInteger(index) || index < 0) {
    throw new Error(`not a dispatcher shard name: ${name}`);
  }
  return { name, modelId: model === ANY_MODEL ? undefined : model, index };
}

/**
 * How many shards a new job of a model is spread over: DISPATCHER_SHARDS, but no more than the
 * model's live workers have slots, since a shard without a slot of its own cannot dispatch (a
 * small pool keeps its jobs in few shards, each owning whole slots).
 */
export function activeShards(shards: number, poolCapacity: number): number {
  return Math.max(1, Math.min(shards, poolCapacity));
}

/**
 * Shard `index`'s share of each worker of `pool` (the workers in the rotation it may use, in id
 * order), out of `shards`: the pool's slots, listed worker by worker, are dealt round-robin to
 * the shards, so the shares of a worker add up to its capacity and each shard gets
 * floor(C / shards) slots or one more. Every shard deals the same pool the same way, so no two
 * count on the same slot. A shard dealt none (its jobs were given out while the pool was bigger,
 * or the workers holding its slots left the rotation) borrows slot `index mod C`, so its jobs
 * still run elsewhere: an over-commit of at most one call per such shard, which the worker's own
 * queue holds (or answers 429, deferring the job without a fault), until the pool grows back.
 */
export function shardShares(
  pool: readonly { id: string; capacity: number }[],
  index: number,
  shards: number,
): Map<string, number> {
  const shares = new Map<string, number>();
  const total = pool.reduce((n, w) => n + w.capacity, 0);
  if (total === 0) return shares;
  let first = 0;
  for (const w of pool) {
    // Slots first..first+capacity-1; those congruent to index (mod shards) are this shard's.
    const offset = (((index - first) % shards) + shards) % shards;
    const dealt = offset < w.capacity ? Math.floor((w.capacity - 1 - offset) / shards) + 1 : 0;
    if (dealt > 0) shares.set(w.id, dealt);
    first += w.capacity;
  }
  if (shares.size === 0) {
    let slot = index % total;
    for (const w of pool) {
      if (slot < w.capacity) {
        shares.set(w.id, 1);
        break;
      }
      slot -= w.capacity;
    }
  }
  return shares;
}
