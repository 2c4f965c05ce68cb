import { Injectable } from '@nestjs/common';
import type { ChangeEvent, DeliveryBucket, DispatchProgress } from '@davpush/domain';
import { keys } from './keys';
import { LuaScript } from './lua-script';
import { RedisService } from './redis.service';
import { RegistrationStore, type RegistrationTarget } from './registration.store';
import { CLAIM, DROP_DONE_WHEN_SETTLED, FIX_TARGETS, RECORD_PROGRESS } from './dispatch.scripts';

/**
 * How long dispatch and event status records are kept (GET /v1/events/{id}). An event id is
 * deduplicated for as long as its record lives: 24 h (README "HTTP API", `POST /v1/events`).
 */
export const RECORD_TTL_SECONDS = 24 * 3600;

export { DROP_DONE_WHEN_SETTLED };

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

/** The counts of one dispatch, as `GET /v1/events/{id}` reports them. */
export interface DispatchCounts {
  /** Deliveries still owed a settlement. */
  pending: number;
  accepted: number;
  gone: number;
  failed: number;
  /** Settled `skipped` at delivery, plus registrations not queued at fan-out. */
  skipped: number;
  /** The fan-out looked at every registration and nothing is pending. */
  done: boolean;
}

/** A page of a dispatch's fixed list of targets (see {@link DispatchStore.targetsPage}). */
export interface TargetsPage {
  targets: RegistrationTarget[];
  /** Ids on the list whose registration was removed since the list was made. */
  vanished: string[];
  /** Entries the page had on the list. */
  read: number;
}

/**
 * The storage of a dispatch (docs/architecture.md, glossary; `DispatchProgress` in
 * libs/domain/src/dispatch.ts): the events it claimed from its topic, its fixed list of targets,
 * its progress and the settlement of each delivery, counted once per registration.
 */
@Injectable()
export class DispatchStore {
  constructor(
    private readonly redis: RedisService,
    private readonly registrations: RegistrationStore,
  ) {}

  /**
   * Takes the pending events of a topic into dispatch `dispatchId` and (re)opens the topic's
   * coalescing window of `coalesceMs` (0 = none). Idempotent: a re-run gets the same events back.
   */
  async claim(tenantId: string, topic: string, dispatchId: string, now = Date.now(), coalesceMs = 0): Promise<ChangeEvent[]> {
    const json = (await CLAIM.run(
      this.redis.client,
      [keys.pending(tenantId, topic), keys.dispatch(dispatchId), keys.pendingIndex(), keys.coalesceWindow(tenantId, topic)],
      [JSON.stringify([tenantId, topic]), now, RECORD_TTL_SECONDS, coalesceMs],
    )) as string | null;
    return json ? (JSON.parse(json) as ChangeEvent[]) : [];
  }

  /** Whether the dispatch's fan-out already finished (a re-run of its job then has nothing to do). */
  async isComplete(dispatchId: string): Promise<boolean> {
    return (await this.redis.client.hget(keys.dispatch(dispatchId), 'complete')) === '1';
  }

  /**
   * Fixes the topic's live registrations for the dispatch and returns how many there are. Paging
   * the fixed list cannot skip a registration when another is removed meanwhile, nor meet a
   * renewed one twice; a fan-out run again after a crash pages the very same list.
   */
  async fixTargets(dispatchId: string, tenantId: string, topic: string, now = Date.now()): Promise<number> {
    return (await FIX_TARGETS.run(this.redis.client, [keys.topicRegistrations(tenantId, topic), keys.dispatchTargets(dispatchId)], [now, RECORD_TTL_SECONDS])) as number;
  }

  /** A page of the dispatch's fixed list (cursor = offset, page of `pageSize` entries). */
  async targetsPage(dispatchId: string, cursor = 0, pageSize = 1000): Promise<TargetsPage> {
    const ids = await this.redis.client.zrange(keys.dispatchTargets(dispatchId), String(cursor), String(cursor + pageSize - 1));
    const found = await this.registrations.targets(ids);
    const present = new Set(found.map((t) => t.id));
    return { targets: found, vanished: ids.filter((id) => !present.has(id)), read: ids.length };
  }

  /** Drops the fixed list once the fan-out is complete. */
  async dropTargets(dispatchId: string): Promise<void> {
    await this.redis.client.del(keys.dispatchTargets(dispatchId));
  }

  /**
   * Links the events to the dispatch and records its progress: the counts so far replace the
   * previous ones; `complete` once every registration of the topic has been looked at.
   */
  async recordProgress(dispatchId: string, events: readonly ChangeEvent[], progress: DispatchProgress): Promise<void> {
    const primary = events[events.length - 1]!;
    await RECORD_PROGRESS.run(
      this.redis.client,
      [keys.dispatch(dispatchId), keys.dispatchDone(dispatchId), ...events.map((e) => keys.event(e.tenantId, e.id))],
      [progress.queued, progress.skipped, progress.complete ? 1 : 0, dispatchId, ...events.map((e) => (e.id === primary.id ? 'primary' : 'coalesced'))],
    );
  }

  /** Settles one registration of the dispatch in `bucket`; false when it was settled before (not counted again). */
  async settle(dispatchId: string, registrationId: string, bucket: DeliveryBucket): Promise<boolean> {
    const r = await SETTLE.run(this.redis.client, [keys.dispatch(dispatchId), keys.dispatchDone(dispatchId)], [registrationId, bucket, RECORD_TTL_SECONDS]);
    return r === 1;
  }

  /** Which of `registrationIds` are settled in the dispatch (1) or not (0), in order. */
  async settled(dispatchId: string, registrationIds: readonly string[]): Promise<number[]> {
    return this.redis.client.smismember(keys.dispatchDone(dispatchId), ...registrationIds);
  }

  /** The dispatch's counts, or undefined when its record is gone (expired). */
  async counts(dispatchId: string): Promise<DispatchCounts | undefined> {
    const d = await this.redis.client.hgetall(keys.dispatch(dispatchId));
    if (Object.keys(d).length === 0) return undefined;
    const n = (k: string) => Number(d[k] ?? 0);
    const settled = n('accepted') + n('gone') + n('failed') + n('skipped');
    const pending = Math.max(0, n('total') - settled);
    return {
      pending,
      accepted: n('accepted'),
      gone: n('gone'),
      failed: n('failed'),
      skipped: n('skipped') + n('skippedAtFanout'),
      done: pending === 0 && d['complete'] === '1',
    };
  }
}
