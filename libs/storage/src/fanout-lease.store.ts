import { Injectable } from '@nestjs/common';
import { BUCKETS, bucketOf, dispatchKeys, keys, tagOfId } from './keys';
import { LuaScript } from './lua-script';
import { REMOVE_IF_UNCHANGED } from './registration.scripts';
import { RedisService } from './redis.service';

/** A fan-out run outside the queue, as its lease names it. */
export interface LeasedFanout {
  tenantId: string;
  topic: string;
  dispatchId: string;
}

/** A lease that lapsed: its fan-out's process stopped renewing it (it died, stalled, or lost Redis). */
export interface LapsedLease extends LeasedFanout {
  /** The lease as stored (member and score), to drop it only if nobody renewed it since. */
  member: string;
  until: number;
  /** How long ago it lapsed, ms (by the clock of the Redis that holds it). */
  lapsedMs: number;
}

/** What a lapsed lease's dispatch needs (see {@link FanoutLeaseStore.stateOf}). */
export type LeasedDispatchState = 'complete' | 'running' | 'unclaimed';

/** Redis time in ms, in a script: leases are set and compared on the clock of the Redis holding them, never a host's. */
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: 1 lease bucket. ARGV: 1 lease ms, then members. Sets each member's lease end to Redis now + lease ms. */
const TAKE = new LuaScript(`${NOW_MS}
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i]) end
return now
`);

/** KEYS: 1 lease bucket. ARGV: 1 limit. Returns {now, member, score, member, score, …} of the leases ended by Redis now. */
const LAPSED = new LuaScript(`${NOW_MS}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
table.insert(due, 1, now)
return due
`);

/**
 * Leases of fan-outs run in the process that accepted their event, outside the queue
 * (apps/worker/src/fan-out/in-process-fanout.ts). A queued fan-out job is taken over by BullMQ when
 * its worker dies (its lock lapses); a fan-out run outside the queue has a lease instead, taken
 * before its claim (so a claimed dispatch always has one) and renewed while it runs; the stranded
 * sweep (apps/worker/src/maintenance/maintenance.processor.ts) resumes a dispatch whose lease lapsed
 * through a queued job, and drops the leases of dispatches that completed.
 *
 * Storage: one sorted set per bucket of the topic's tag (`{lease.<b>}`), member JSON
 * [tenantId, topic, dispatchId], score the lease's end in ms on the clock of the Redis that holds
 * it (TIME, in the scripts), as BullMQ's locks expire on Redis time: hosts' clocks may disagree.
 */
@Injectable()
export class FanoutLeaseStore {
  constructor(private readonly redis: RedisService) {}

  /** Takes the lease of a fan-out for `leaseMs` from now. */
  async take(fanout: LeasedFanout, leaseMs: number): Promise<void> {
    await TAKE.run(this.redis.client, [bucketKey(fanout)], [leaseMs, member(fanout)]);
  }

  /**
   * Extends by `leaseMs` from now the leases of these running fan-outs, taking again one a Redis
   * failover lost (it may have been written to a master that died before replicating it), or one
   * the sweep dropped as unclaimed while this process stalled. Commands on one key run in the order
   * sent, so a renewal never lands after its fan-out's release: sent as EVAL with the source, never
   * EVALSHA, whose NOSCRIPT fallback (a restarted or promoted Redis) would be sent again after it.
   */
  async renew(fanouts: readonly LeasedFanout[], leaseMs: number): Promise<void> {
    const byBucket = new Map<string, string[]>();
    for (const f of fanouts) byBucket.set(bucketKey(f), [...(byBucket.get(bucketKey(f)) ?? []), member(f)]);
    await Promise.all(
      [...byBucket].map(([bucket, members]) => this.redis.client.eval(TAKE.source, 1, bucket, leaseMs, ...members)),
    );
  }

  /** Drops the lease of a fan-out that finished (or handed its dispatch to the queue). */
  async release(fanout: LeasedFanout): Promise<void> {
    await this.redis.client.zrem(bucketKey(fanout), member(fanout));
  }

  /** Leases that have ended, at most `limit`. */
  async lapsed(limit = 1000): Promise<LapsedLease[]> {
    const out: LapsedLease[] = [];
    for (let b = 0; b < BUCKETS && out.length < limit; b++) {
      const [now, ...due] = (await LAPSED.run(this.redis.client, [keys.leaseBucket(b)], [limit - out.length])) as [
        number,
        ...string[],
      ];
      for (let i = 0; i < due.length; i += 2) {
        const [tenantId, topic, dispatchId] = JSON.parse(due[i]!) as [string, string, string];
        const until = Number(due[i + 1]);
        out.push({ tenantId, topic, dispatchId, member: due[i]!, until, lapsedMs: now - until });
      }
    }
    return out;
  }

  /**
   * Where a leased dispatch stands: `complete` (nothing more to do); `running` (claimed, not
   * complete: resume it); `unclaimed` (no record: its process stopped between lease and claim, and
   * its events, still pending, are the stranded-topic sweep's; or its record expired).
   */
  async stateOf(dispatchId: string): Promise<LeasedDispatchState> {
    const [createdAt, complete] = await this.redis.client.hmget(
      dispatchKeys(dispatchId).record,
      'createdAt',
      'complete',
    );
    return complete === '1' ? 'complete' : createdAt === null ? 'unclaimed' : 'running';
  }

  /** Drops a lapsed lease unless it was renewed since it was read. */
  async dropLapsed(lease: LapsedLease): Promise<void> {
    await REMOVE_IF_UNCHANGED.run(this.redis.client, [bucketKey(lease)], [lease.member, lease.until]);
  }
}

const member = (f: LeasedFanout): string => JSON.stringify([f.tenantId, f.topic, f.dispatchId]);
const bucketKey = (f: LeasedFanout): string => keys.leaseBucket(bucketOf(tagOfId(f.dispatchId)));
