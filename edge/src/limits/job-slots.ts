/**
 * The concurrent-jobs cap per key. A job's owner row (job_owners) is its slot: it is written
 * just before the job row, by one INSERT ... SELECT that counts the key's open slots in the same
 * statement, so two requests racing for the last slot cannot both get it (D1 runs each
 * statement atomically). An open slot counts while its job is queued or running; a slot whose
 * job row never appeared (the request died in between) stops counting after ORPHAN_MS, and one
 * whose job finished stops counting even if its settlement was lost, so the cap cannot leak.
 */
import { RateLimitedError } from "@budgetfusion/shared/errors";
import { sql } from "drizzle-orm";
import type { EdgeDb } from "../db/client";
import { jobOwners, jobs } from "../db/schema";
import type { Consumer } from "../keys/consumer";

const ORPHAN_MS = 60_000;
/**
 * Retry-After for a full cap. Jobs take from milliseconds to minutes, so no wait fits all; the
 * client holds the job ids and can poll them instead.
 */
const CAP_RETRY_AFTER_S = 2;

/** Takes a slot for `jobId` under the consumer's cap, or throws 429 `concurrent_jobs`. */
export async function reserveJobSlot(
  db: EdgeDb,
  consumer: Consumer,
  jobId: string,
  now: number,
): Promise<void> {
  const owner = {
    jobId,
    keyId: consumer.keyId,
    baselineSteps: consumer.baselineSteps,
    createdAt: now,
  };
  const cap = consumer.concurrentJobs;
  if (cap === null) {
    await db.insert(jobOwners).values(owner);
    return;
  }
  const taken = await db.all<{ job_id: string }>(sql`
    INSERT INTO ${jobOwners} (job_id, key_id, baseline_steps, created_at)
    SELECT ${jobId}, ${consumer.keyId}, ${consumer.baselineSteps}, ${now}
    WHERE (
      SELECT count(*) FROM ${jobOwners} AS o LEFT JOIN ${jobs} AS j ON j.id = o.job_id
      WHERE o.key_id = ${consumer.keyId} AND o.settled_at IS NULL
        AND (j.status IN ('queued', 'running') OR (j.id IS NULL AND o.created_at > ${now - ORPHAN_MS}))
    ) < ${cap}
    RETURNING job_id`);
  if (taken.length === 0) {
    throw new RateLimitedError(
      "concurrent_jobs",
      `concurrent_jobs exceeded: this key may have ${cap} jobs queued or running at once`,
      CAP_RETRY_AFTER_S,
      { limit_value: cap },
    );
  }
}
