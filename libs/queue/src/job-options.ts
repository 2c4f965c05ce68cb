import { randomBytes } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { digest } from '@davpush/storage';

/**
 * Every job option in one place. A fan-out re-run after a crash re-adds deliveries under the same
 * job ids: BullMQ ignores an id it still knows, and a batch whose completed job was already removed
 * runs again but sends only what `DeliveryLedger.unsettled` still names (libs/storage), which is
 * what keeps duplicates to at most one per registration. Completed batch jobs are kept up to a
 * fixed count, so no registration ids outlive a fan-out beyond that bound.
 */
export const jobOptions = {
  fanout: (coalesceMs: number, immediate: boolean): JobsOptions => ({
    // The id names the job's dispatch (event status, delivery job ids), so it must never come
    // twice. BullMQ's own ids count per queue in Redis, and a failover can lose the last counts
    // along with the jobs, handing out an id a lost job had already used: random ids cannot repeat.
    jobId: `j${randomBytes(12).toString('base64url')}`,
    delay: immediate ? 0 : coalesceMs,
    attempts: 20,
    backoff: { type: 'exponential', delay: 500, jitter: 0.5 },
    removeOnComplete: { age: 3600, count: 50_000 },
    removeOnFail: { age: 7 * 86_400 },
  }),
  deliverBatch: (dispatchId: string, registrationIds: readonly string[], parentJobId?: string): JobsOptions => ({
    // Named by its content, not its position: a fan-out re-run that pages differently (a
    // registration came or went) adds the batches it needs instead of skipping them as known.
    // The rest of a batch that goes back to the queue is named after the job it came from too.
    jobId: `b-${dispatchId}-${digest(`${parentJobId ?? ''}|${registrationIds.join(',')}`)}`,
    // A batch must never fail half-sent: unexpected errors retry the whole batch (deliveries
    // already settled are idempotent in the dispatch counters).
    attempts: 5,
    backoff: { type: 'exponential', delay: 1000, jitter: 1 },
    removeOnComplete: { age: 3600, count: 100 }, // a bound, not per registration: a batch id added again sends only what DeliveryLedger.unsettled names
    removeOnFail: { age: 86_400, count: 10_000 },
  }),
  deadLetter: (): JobsOptions => ({ removeOnComplete: false, removeOnFail: false }),
  maintenance: (): JobsOptions => ({ removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } }),
};

/**
 * Coalescing key of a topic's trailing push: while it is waiting, further events join it instead of
 * adding a job (BullMQ deduplication, throttle mode). The ttl is a little shorter than the delay, so
 * the key is always gone once the job may run and a later event always gets a job of its own.
 */
export const fanoutDeduplication = (tenantId: string, topic: string, delayMs: number) => ({
  id: `fanout-${tenantId}-${digest(topic)}`,
  ttl: Math.max(1, delayMs - 50),
});
