import { Injectable } from '@nestjs/common';
import type { ChangeEvent, DeliveryBucket, DispatchProgress } from '@davpush/domain';
import { keys } from './keys';
import { isNoScript, LuaScript } from './lua-script';
import { RedisService } from './redis.service';

/**
 * How long event status and dispatch records are kept (GET /v1/events/{id}). An event id is
 * deduplicated for as long as its record lives: 24 h (README "HTTP API", `POST /v1/events`).
 */
export const RECORD_TTL_SECONDS = 24 * 3600;

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

/**
 * KEYS: 1 pending list, 2 dispatch hash, 3 pending index, 4 coalescing window. ARGV: 1 index member,
 * 2 now, 3 ttl, 4 coalescing window ms. Moves everything pending for a topic into the dispatch record
 * and (re)opens the topic's window, so a steady stream of changes makes one push per window.
 * Idempotent: a re-run of the same dispatch (after a worker crash) gets the same events back.
 */
const CLAIM = new LuaScript(`
local claimed = redis.call('HGET', KEYS[2], 'events')
if claimed then return claimed end
local items = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if #items == 0 then return false end
if tonumber(ARGV[4]) > 0 then redis.call('SET', KEYS[4], '1', 'PX', ARGV[4]) end
local json = '[' .. table.concat(items, ',') .. ']'
redis.call('HSET', KEYS[2], 'events', json, 'createdAt', ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return json
`);

/**
 * Lua: once a dispatch's fan-out is complete and every delivery it queued is settled, its "done" set
 * (one member per registration) has served its purpose: deleted then rather than kept for the
 * record's 24 h. The counters stay in the dispatch hash for the event status.
 */
export const DROP_DONE_WHEN_SETTLED = `
local function dropDoneWhenSettled(dispatchKey, doneKey)
  local d = redis.call('HMGET', dispatchKey, 'complete', 'total', 'accepted', 'gone', 'failed', 'skipped')
  if d[1] ~= '1' then return end
  local settled = tonumber(d[3] or 0) + tonumber(d[4] or 0) + tonumber(d[5] or 0) + tonumber(d[6] or 0)
  if settled >= tonumber(d[2] or 0) then redis.call('DEL', doneKey) end
end
`;

/** KEYS: 1 dispatch hash, 2 done set. ARGV: 1 registration id, 2 bucket, 3 ttl. Counts each registration once. */
const SETTLE = new LuaScript(`${DROP_DONE_WHEN_SETTLED}
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  dropDoneWhenSettled(KEYS[1], KEYS[2])
  return 1
end
return 0
`);

/**
 * KEYS: 1 dispatch hash, 2 done set, then each event hash of the dispatch. ARGV: 1 queued (stored as
 * `total`), 2 skipped at fan-out, 3 complete (0/1), 4 dispatch id, then each event's role (primary | coalesced).
 */
const MARK = new LuaScript(`${DROP_DONE_WHEN_SETTLED}
for i = 3, #KEYS do
  redis.call('HSET', KEYS[i], 'dispatchId', ARGV[4], 'role', ARGV[i + 2])
end
redis.call('HSET', KEYS[1], 'total', ARGV[1], 'skippedAtFanout', ARGV[2], 'complete', ARGV[3])
if ARGV[3] == '1' then
  -- The events are no longer needed to re-run the fan-out: a re-run finds it complete.
  redis.call('HSET', KEYS[1], 'events', '[]')
  dropDoneWhenSettled(KEYS[1], KEYS[2])
end
return 1
`);

@Injectable()
export class EventStore {
  constructor(private readonly redis: RedisService) {}

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

  /** Takes the pending events of a topic into dispatch `dispatchId`. */
  async claim(tenantId: string, topic: string, dispatchId: string, now = Date.now(), coalesceMs = 0): Promise<ChangeEvent[]> {
    const json = (await CLAIM.run(
      this.redis.client,
      [keys.pending(tenantId, topic), keys.dispatch(dispatchId), keys.pendingIndex(), keys.coalesceWindow(tenantId, topic)],
      [JSON.stringify([tenantId, topic]), now, RECORD_TTL_SECONDS, coalesceMs],
    )) as string | null;
    return json ? (JSON.parse(json) as ChangeEvent[]) : [];
  }

  /**
   * Links the events to their dispatch and records its progress (the counts so far replace the
   * previous ones; `complete` once every registration of the topic has been looked at).
   */
  async markDispatched(dispatchId: string, events: readonly ChangeEvent[], { queued, skipped, complete }: DispatchProgress): Promise<void> {
    const primary = events[events.length - 1]!;
    await MARK.run(
      this.redis.client,
      [keys.dispatch(dispatchId), keys.dispatchDone(dispatchId), ...events.map((e) => keys.event(e.tenantId, e.id))],
      [queued, skipped, complete ? 1 : 0, dispatchId, ...events.map((e) => (e.id === primary.id ? 'primary' : 'coalesced'))],
    );
  }

  /** Whether the dispatch's fan-out already finished (a re-run of its job then has nothing to do). */
  async fanoutComplete(dispatchId: string): Promise<boolean> {
    return (await this.redis.client.hget(keys.dispatch(dispatchId), 'complete')) === '1';
  }

  async settle(dispatchId: string, registrationId: string, bucket: DeliveryBucket): Promise<boolean> {
    const r = await SETTLE.run(this.redis.client, [keys.dispatch(dispatchId), keys.dispatchDone(dispatchId)], [registrationId, bucket, RECORD_TTL_SECONDS]);
    return r === 1;
  }

  async status(tenantId: string, eventId: string): Promise<EventStatus | undefined> {
    const e = await this.redis.client.hgetall(keys.event(tenantId, eventId));
    if (!e.id) return undefined;
    const zero = { pending: 0, accepted: 0, gone: 0, failed: 0, skipped: 0 };
    // No live registration when it came: recorded, nothing to deliver.
    if (e.none === '1') return { id: e.id, topic: e.topic!, state: 'done', deliveries: zero };
    if (!e.dispatchId) return { id: e.id, topic: e.topic!, state: 'queued', deliveries: zero };
    const d = await this.redis.client.hgetall(keys.dispatch(e.dispatchId));
    const n = (k: string) => Number(d[k] ?? 0);
    const settled = n('accepted') + n('gone') + n('failed') + n('skipped');
    const pending = Math.max(0, n('total') - settled);
    const deliveries = {
      pending,
      accepted: n('accepted'),
      gone: n('gone'),
      failed: n('failed'),
      skipped: n('skipped') + n('skippedAtFanout'),
    };
    const done = pending === 0 && d.complete === '1';
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
