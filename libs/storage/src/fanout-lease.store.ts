import { Injectable } from '@nestjs/common';
import { BUCKETS, bucketOf, dispatchKeys, keys, tagOfId } from './keys';
import { REMOVE_IF_UNCHANGED } from './registration.scripts';
import { RedisService } from './redis.service';

/** A fan-out run outside the queue, as its lease names it. */
export interface LeasedFanout {
  tenantId: string;
  topic: string;
  dispatchId: string;
}

/** A lease that lapsed: its fan-out's process stopped renewing it (it died, or lost Redis for longer). */
export interface LapsedLease extends LeasedFanout {
  /** The lease as stored (member and score), to drop it only if nobody renewed it since. */
  member: string;
  until: number;
}

/**
 * Leases of fan-outs run in the process that accepted their event, outside the queue
 * (apps/worker/src/fan-out/in-process-fanout.ts). A queued fan-out job is taken over by BullMQ when
 * its worker dies (its lock lapses); a fan-out run outside the queue has a lease instead, taken
 * before its claim (so a claimed dispatch always has one) and renewed while it runs; the stranded
 * sweep (apps/worker/src/maintenance/maintenance.processor.ts) resumes a dispatch whose lease lapsed
 * through a queued job, and drops leases of dispatches that completed or never claimed anything
 * (their events are still pending: the stranded-topic sweep's part).
 *
 * Storage: one sorted set per bucket of the topic's tag (`{lease.<b>}`), member JSON
 * [tenantId, topic, dispatchId], score the lease's end in ms since the epoch.
 */
@Injectable()
export class FanoutLeaseStore {
  constructor(private readonly redis: RedisService) {}

  /** Takes (or moves) the lease of a fan-out until `until` ms since the epoch. */
  async take(fanout: LeasedFanout, until: number): Promise<void> {
    await this.redis.client.zadd(bucketKey(fanout), until, member(fanout));
  }

  /**
   * Extends to `until` the leases of these running fan-outs, taking again one a Redis failover lost
   * (it may have been written to a master that died before replicating it). Commands on one key
   * run in the order sent, so a renewal never lands after its fan-out's release.
   */
  async renew(fanouts: readonly LeasedFanout[], until: number): Promise<void> {
    await Promise.all(fanouts.map((f) => this.redis.client.zadd(bucketKey(f), until, member(f))));
  }

  /** Drops the lease of a fan-out that finished (or handed its dispatch to the queue). */
  async release(fanout: LeasedFanout): Promise<void> {
    await this.redis.client.zrem(bucketKey(fanout), member(fanout));
  }

  /** Leases that ended before `now`, at most `limit`. */
  async lapsed(now = Date.now(), limit = 1000): Promise<LapsedLease[]> {
    const out: LapsedLease[] = [];
    for (let b = 0; b < BUCKETS && out.length < limit; b++) {
      const due = await this.redis.client.zrangebyscore(
        keys.leaseBucket(b),
        '-inf',
        now,
        'WITHSCORES',
        'LIMIT',
        0,
        limit - out.length,
      );
      for (let i = 0; i < due.length; i += 2) {
        const [tenantId, topic, dispatchId] = JSON.parse(due[i]!) as [string, string, string];
        out.push({ tenantId, topic, dispatchId, member: due[i]!, until: Number(due[i + 1]) });
      }
    }
    return out;
  }

  /**
   * Whether a leased dispatch needs nothing more: its fan-out completed, or it never claimed
   * anything (no record: the process died between lease and claim, and its events, still pending,
   * are the stranded-topic sweep's), or its record expired.
   */
  async finished(dispatchId: string): Promise<boolean> {
    const [createdAt, complete] = await this.redis.client.hmget(
      dispatchKeys(dispatchId).record,
      'createdAt',
      'complete',
    );
    return createdAt === null || complete === '1';
  }

  /** Drops a lapsed lease unless it was renewed since it was read. */
  async dropLapsed(lease: LapsedLease): Promise<void> {
    await REMOVE_IF_UNCHANGED.run(this.redis.client, [bucketKey(lease)], [lease.member, lease.until]);
  }
}

const member = (f: LeasedFanout): string => JSON.stringify([f.tenantId, f.topic, f.dispatchId]);
const bucketKey = (f: LeasedFanout): string => keys.leaseBucket(bucketOf(tagOfId(f.dispatchId)));
