import { Injectable } from '@nestjs/common';
import type { ChangeEvent } from '@davpush/domain';
import { DispatchStore, RECORD_TTL_SECONDS } from './dispatch.store';
import { keys } from './keys';
import { isNoScript, LuaScript } from './lua-script';
import { RedisService } from './redis.service';


export type EventState = 'queued' | 'coalesced' | 'dispatching' | 'done';
/** Kept for importers of @davpush/storage; the type lives in @davpush/domain (`dispatch.ts`). */
export type { DeliveryBucket } from '@davpush/domain';

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
 * KEYS: 1 event hash, 2 pending list, 3 pending index, 4 topic registrations zset, 5 coalescing window.
 * ARGV: 1 event JSON, 2 id, 3 topic, 4 now, 5 index member, 6 ttl, 7 coalescing window ms (0 = none).
 * Returns {result, live, windowLeftMs}: result 0 = id seen before (nothing written), 1 = parked inside
 * an open window (a trailing push takes it), 2 = parked and the window opened now (leading edge: push
 * at once), 3 = recorded only, the topic has no live registration (nothing to fan out). Event status
 * and the pending entry are written together or not at all.
 */
const ACCEPT = new LuaScript(`
local live = redis.call('ZCOUNT', KEYS[4], '(' .. ARGV[4], '+inf')
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, live, 0} end
if live == 0 then
  redis.call('HSET', KEYS[1], 'id', ARGV[2], 'topic', ARGV[3], 'receivedAt', ARGV[4], 'none', 1)
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  return {3, 0, 0}
end
redis.call('HSET', KEYS[1], 'id', ARGV[2], 'topic', ARGV[3], 'receivedAt', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], 'NX', ARGV[4], ARGV[5])
if tonumber(ARGV[7]) == 0 then return {2, live, 0} end
if redis.call('SET', KEYS[5], '1', 'NX', 'PX', ARGV[7]) then return {2, live, 0} end
return {1, live, redis.call('PTTL', KEYS[5])}
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
   * `coalesceMs` is the coalescing window (0 = none). One pipelined script call per event.
   */
  async accept(events: readonly ChangeEvent[], coalesceMs = 0, retried = false): Promise<AcceptResult[]> {
    const pipeline = this.redis.client.pipeline();
    for (const e of events) {
      ACCEPT.queue(
        pipeline,
        [keys.event(e.tenantId, e.id), keys.pending(e.tenantId, e.topic), keys.pendingIndex(), keys.topicRegistrations(e.tenantId, e.topic), keys.coalesceWindow(e.tenantId, e.topic)],
        [JSON.stringify(e), e.id, e.topic, e.receivedAt, JSON.stringify([e.tenantId, e.topic]), RECORD_TTL_SECONDS, coalesceMs],
        retried,
      );
    }
    const results = (await pipeline.exec()) ?? [];
    if (!retried && results.some(([err]) => isNoScript(err))) {
      // The node forgot the script (restart, SCRIPT FLUSH, a promoted replica): run the batch again
      // with EVAL. Accepting is idempotent per event id, so the events that did run are not doubled.
      return this.accept(events, coalesceMs, true);
    }
    return results.map(([err, v]) => {
      if (err) throw err;
      const [result, live, left] = v as [number, number, number];
      const parked = result === 2 ? 'leading' : result === 1 ? 'trailing' : undefined;
      return { fresh: result !== 0, live, parked, windowLeftMs: Math.max(0, left) };
    });
  }

  async status(tenantId: string, eventId: string): Promise<EventStatus | undefined> {
    const e = await this.redis.client.hgetall(keys.event(tenantId, eventId));
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

  /** Topics with events parked longer than `olderThanMs`: their fan-out job was lost (crash between write and enqueue). */
  async strandedTopics(olderThanMs: number, now = Date.now(), limit = 1000): Promise<PendingTopic[]> {
    const members = await this.redis.client.zrangebyscore(keys.pendingIndex(), '-inf', now - olderThanMs, 'LIMIT', 0, limit);
    return members.map((m) => {
      const [tenantId, topic] = JSON.parse(m) as [string, string];
      return { tenantId, topic };
    });
  }
}
