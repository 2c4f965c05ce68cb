import { Injectable } from '@nestjs/common';
import type { ChangeEvent } from '@davpush/domain';
import { DispatchStore } from './dispatch.store';
import { BUCKETS, bucketOf, keys, topicKeys, topicTag } from './keys';
import { LuaScript } from './lua-script';
import { REMOVE_IF_UNCHANGED } from './registration.scripts';
import { RedisService } from './redis.service';

export type EventState = 'queued' | 'coalesced' | 'dispatching' | 'done';

export interface EventStatus {
  id: string;
  topic: string;
  state: EventState;
  deliveries: { pending: number; accepted: number; gone: number; failed: number; skipped: number };
}

export interface PendingTopic {
  tenantId: string;
  topic: string;
}

/**
 * KEYS: 1 event hash, 2 pending list, 3 topic expiry index, 4 coalescing window (all of the topic's slot).
 * ARGV: 1 event JSON, 2 id, 3 topic, 4 now, 5 ttl, 6 coalescing window ms (0 = none).
 * Returns {result, live, windowLeftMs}: result 0 = id seen before (nothing written), 1 = parked inside
 * an open window (a trailing push takes it), 2 = parked and the window opened now (leading edge: push
 * at once), 3 = recorded only, the topic has no live registration (nothing to fan out). Event status
 * and the pending entry are written together or not at all.
 */
const ACCEPT = new LuaScript(`
local live = redis.call('ZCOUNT', KEYS[3], '(' .. ARGV[4], '+inf')
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, live, 0} end
if live == 0 then
  redis.call('HSET', KEYS[1], 'id', ARGV[2], 'topic', ARGV[3], 'receivedAt', ARGV[4], 'none', 1)
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  return {3, 0, 0}
end
redis.call('HSET', KEYS[1], 'id', ARGV[2], 'topic', ARGV[3], 'receivedAt', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('RPUSH', KEYS[2], ARGV[1])
if tonumber(ARGV[6]) == 0 then return {2, live, 0} end
if redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[6]) then return {2, live, 0} end
return {1, live, redis.call('PTTL', KEYS[4])}
`);

/** What {@link EventStore.accept} did with one event (see the ACCEPT script). */
export interface AcceptResult {
  fresh: boolean;
  /** Live registrations of the event's topic when it was accepted. */
  live: number;
  /** Parked for a fan-out: `leading` opened the topic's coalescing window, `trailing` fell inside one. */
  parked?: 'leading' | 'trailing';
  /** For `trailing`: ms until the window closes (when the trailing push is due). */
  windowLeftMs: number;
}

@Injectable()
export class EventStore {
  constructor(
    private readonly redis: RedisService,
    private readonly dispatches: DispatchStore,
  ) {}

  /**
   * Records the events and parks those of topics with live registrations for their topic's next push;
   * `coalesceMs` is the coalescing window (0 = none). First, in one round trip, each topic is filed
   * in its pending bucket (the stranded sweep's list) and each event id points to its topic (for
   * its status); then one script call per event on its topic's slot. Every command is sent on its
   * own, concurrently (a Redis Cluster pipeline takes keys of one slot only).
   */
  async accept(events: readonly ChangeEvent[], coalesceMs = 0): Promise<AcceptResult[]> {
    const client = this.redis.client;
    const now = Date.now();
    const topics = new Map<string, string>();
    for (const e of events) topics.set(JSON.stringify([e.tenantId, e.topic]), topicTag(e.tenantId, e.topic));
    await Promise.all([
      ...[...topics].map(([member, tag]) => client.zadd(keys.pendingBucket(bucketOf(tag)), 'GT', now, member)),
      ...events.map((e) =>
        client.set(
          keys.eventTopic(e.tenantId, e.id),
          topicTag(e.tenantId, e.topic),
          'EX',
          this.dispatches.retentionSeconds,
          'NX',
        ),
      ),
    ]);
    const results = await Promise.all(
      events.map((e) => {
        const k = topicKeys(topicTag(e.tenantId, e.topic));
        return ACCEPT.run(
          client,
          [k.event(e.id), k.pending, k.expiry, k.window],
          [JSON.stringify(e), e.id, e.topic, e.receivedAt, this.dispatches.retentionSeconds, coalesceMs],
        );
      }),
    );
    return results.map((v) => {
      const [result, live, left] = v as [number, number, number];
      const parked = result === 2 ? 'leading' : result === 1 ? 'trailing' : undefined;
      return { fresh: result !== 0, live, parked, windowLeftMs: Math.max(0, left) };
    });
  }

  async status(tenantId: string, eventId: string): Promise<EventStatus | undefined> {
    const tag = await this.redis.client.get(keys.eventTopic(tenantId, eventId));
    if (!tag) return undefined;
    const e = await this.redis.client.hgetall(topicKeys(tag).event(eventId));
    if (!e.id) return undefined;
    const zero = { pending: 0, accepted: 0, gone: 0, failed: 0, skipped: 0 };
    // No live registration when it came: recorded, nothing to deliver.
    if (e.none === '1') return { id: e.id, topic: e.topic!, state: 'done', deliveries: zero };
    if (!e.dispatchId) return { id: e.id, topic: e.topic!, state: 'queued', deliveries: zero };
    const c = await this.dispatches.counts(e.dispatchId);
    const { done, ...deliveries } = c ?? { ...zero, done: false };
    const state: EventState = done ? 'done' : e.role === 'coalesced' ? 'coalesced' : 'dispatching';
    return { id: e.id, topic: e.topic!, state, deliveries };
  }

  /**
   * Topics with events parked for longer than `olderThanMs` since the last one: their fan-out job
   * was lost (a crash between write and enqueue). Entries of topics with nothing pending (claimed
   * since) are dropped on the way, unless an event was parked for them meanwhile.
   */
  async strandedTopics(olderThanMs: number, now = Date.now(), limit = 1000): Promise<PendingTopic[]> {
    const stranded: PendingTopic[] = [];
    for (let b = 0; b < BUCKETS && stranded.length < limit; b++) {
      const bucket = keys.pendingBucket(b);
      const due = await this.redis.client.zrangebyscore(
        bucket,
        '-inf',
        now - olderThanMs,
        'WITHSCORES',
        'LIMIT',
        0,
        limit,
      );
      for (let i = 0; i < due.length; i += 2) {
        const [tenantId, topic] = JSON.parse(due[i]!) as [string, string];
        if ((await this.redis.client.llen(topicKeys(topicTag(tenantId, topic)).pending)) > 0)
          stranded.push({ tenantId, topic });
        else await REMOVE_IF_UNCHANGED.run(this.redis.client, [bucket], [due[i]!, due[i + 1]!]);
      }
    }
    return stranded.slice(0, limit);
  }
}
