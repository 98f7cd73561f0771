import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { deliverWebhook, secretProblem, signWebhook } from "./signed-webhook";

const SECRET = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
const message = { id: "msg_job-1_completed", type: "job.completed", data: { job_id: "job-1" } };

interface Seen {
  body: string;
  headers: Record<string, string>;
}

/** A receiver answering `statuses` in turn (a thrown string = a network failure). */
function receiver(statuses: (number | string)[]) {
  const seen: Seen[] = [];
  const post = async (_url: string, request: Seen) => {
    seen.push(request);
    const next = statuses[Math.min(seen.length - 1, statuses.length - 1)];
    if (typeof next === "string") throw new TypeError(next);
    return next;
  };
  return { seen, post };
}

describe("signWebhook", () => {
  it("verifies with the Standard Webhooks reference library, and nothing tampered does", () => {
    const { body, headers } = signWebhook(SECRET, message, new Date());
    const verifier = new Webhook(SECRET);
    expect(verifier.verify(body, headers)).toMatchObject({
      type: "job.completed",
      data: message.data,
    });
    expect(() => verifier.verify(body.replace("job-1", "job-2"), headers)).toThrow(/signature/i);
    const other = new Webhook(`whsec_${Buffer.alloc(32, 8).toString("base64")}`);
    expect(() => other.verify(body, headers)).toThrow(/signature/i);
  });

  it("a timestamp from 10 minutes ago is refused (replay)", () => {
    const old = new Date(Date.now() - 10 * 60_000);
    const { body, headers } = signWebhook(SECRET, message, old);
    expect(() => new Webhook(SECRET).verify(body, headers)).toThrow(/too old/);
  });

  it("names what is wrong with a secret", () => {
    expect(secretProblem(SECRET)).toBeUndefined();
    expect(secretProblem("hunter2")).toMatch(/whsec_/);
    expect(secretProblem("whsec_not base64!")).toMatch(/base64/);
    expect(secretProblem(`whsec_${Buffer.alloc(8).toString("base64")}`)).toMatch(/24 bytes/);
  });
});

describe("deliverWebhook", () => {
  const waits: number[] = [];
  const fast = {
    secret: SECRET,
    firstDelayMs: 1,
    maxDelayMs: 5,
    sleep: async (ms: number) => void waits.push(ms),
  };

  it("retries 5xx and network failures until delivered, each attempt signed afresh", async () => {
    const { seen, post } = receiver([503, "connection refused", 200]);
    const result = await deliverWebhook("https://hooks.test/x", message, { ...fast, post });
    expect(result).toMatchObject({ delivered: true, attempts: 3, status: 200 });
    const verifier = new Webhook(SECRET);
    for (const s of seen) {
      expect(s.headers["webhook-id"]).toBe(message.id);
      expect(verifier.verify(s.body, s.headers)).toMatchObject({ data: message.data });
    }
  });

  it("gives up after the bounded attempts, saying why, waiting longer each time", async () => {
    waits.length = 0;
    const { seen, post } = receiver([500]);
    const result = await deliverWebhook("https://hooks.test/x", message, {
      ...fast,
      firstDelayMs: 100,
      maxDelayMs: 1000,
      attempts: 3,
      post,
    });
    expect(result).toMatchObject({ delivered: false, attempts: 3, status: 500 });
    expect(seen).toHaveLength(3);
    // The shared schedule (retry/backoff.ts): 100 ms then 200 ms, each jittered into [half, full].
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(50);
    expect(waits[0]).toBeLessThanOrEqual(100);
    expect(waits[1]).toBeGreaterThanOrEqual(100);
    expect(waits[1]).toBeLessThanOrEqual(200);
  });

  it("does not retry a 4xx other than 408/429", async () => {
    const { seen, post } = receiver([410, 200]);
    const result = await deliverWebhook("https://hooks.test/x", message, { ...fast, post });
    expect(result).toMatchObject({ delivered: false, attempts: 1, status: 410 });
    expect(seen).toHaveLength(1);
  });
});
