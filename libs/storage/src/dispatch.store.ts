import { Injectable } from '@nestjs/common';
import { AppConfig } from '@davpush/config';
import type { ChangeEvent, DeliveryBucket, DispatchProgress } from '@davpush/domain';
import { dispatchKeys, tagOfId, topicKeys, topicTag } from './keys';
import { settlementName } from './registration-id';
import { LuaScript } from './lua-script';
import { RedisService } from './redis.service';
import { RegistrationStore } from './registration.store';
import { targetsFrom, type RegistrationTarget } from './registration-target';
import { CLAIM_AND_LIST, DROP_DONE_WHEN_SETTLED, RECORD_PROGRESS } from './dispatch.scripts';

export { DROP_DONE_WHEN_SETTLED };

/** KEYS: 1 dispatch hash, 2 done set. ARGV: 1 registration id, 2 bucket, 3 ttl. Counts each registration once. */
const SETTLE = new LuaScript(`${DROP_DONE_WHEN_SETTLED}
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
  -- A settlement after the record expired (past the retention) must not leave one behind for ever.
  if redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
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
  /** Registrations on the list removed since it was made, by tag and identity (their secret went with them): settle these. */
  vanished: string[];
  /** Entries the page had on the list. */
  read: number;
}

/** A dispatch as its fan-out starts it ({@link DispatchStore.claimAndList}). */
export interface StartedDispatch {
  /** The events claimed (the same on a re-run); none: nothing was pending, there is nothing to do. */
  events: ChangeEvent[];
  /** The fan-out finished before (a re-run after its last step): nothing more to do. */
  complete: boolean;
  /** Entries on the dispatch's fixed list of targets (0 when complete). */
  listed: number;
  /** The list's first page (offset 0); each target carries its whole registration as read. */
  first: TargetsPage;
}

/**
 * The storage of a dispatch (docs/architecture.md, glossary; `DispatchProgress` in
 * libs/domain/src/dispatch.ts): the events it claimed from its topic, its fixed list of targets,
 * its progress and the settlement of each delivery, counted once per registration.
 */
@Injectable()
export class DispatchStore {
  /**
   * Seconds dispatch and event status records are kept (GET /v1/events/{id}), with the dispatch's
   * settled and handed-off deliveries: `DAVPUSH_EVENT_RETENTION_SECONDS` (default 24 h). An event id
   * is de-duplicated for as long as its record lives (README "HTTP API", `POST /v1/events`).
   */
  readonly retentionSeconds: number;

  constructor(
    private readonly redis: RedisService,
    private readonly registrations: RegistrationStore,
    config: AppConfig,
  ) {
    this.retentionSeconds = config.eventRetentionSeconds;
  }

  /**
   * Takes the pending events of a topic into dispatch `dispatchId` and (re)opens the topic's
   * coalescing window of `coalesceMs` (0 = none); then, unless the fan-out is complete already,
   * fixes the dispatch's list of live registrations (made once: paging it cannot skip a registration
   * removed meanwhile nor meet a renewed one twice, and a re-run pages the very same list) and
   * reads its first {@link targetsPage} of `pageSize`: one round trip, which
   * is all an urgent event waits for before its first push is sent. Idempotent: a re-run gets the
   * same events and list back. The dispatch id must be one of this topic (`dispatchIdFor`).
   */
  async claimAndList(
    tenantId: string,
    topic: string,
    dispatchId: string,
    now: number,
    coalesceMs: number,
    pageSize: number,
  ): Promise<StartedDispatch> {
    const tag = topicTag(tenantId, topic);
    const k = topicKeys(tag);
    const d = dispatchKeys(dispatchId);
    const r = (await CLAIM_AND_LIST.runBuffer(
      this.redis.client,
      [k.pending, d.record, k.window, k.expiry, d.targets, k.registrations],
      [now, this.retentionSeconds, coalesceMs, pageSize],
    )) as [Buffer, number, number?, Buffer[]?, (Buffer | null)[]?, Buffer[]?] | null;
    const none: TargetsPage = { targets: [], vanished: [], read: 0 };
    if (!r) return { events: [], complete: false, listed: 0, first: none };
    const events = JSON.parse(r[0].toString('utf8')) as ChangeEvent[];
    if (r[1] === 1) return { events, complete: true, listed: 0, first: none };
    const identities = r[3] ?? [];
    const expiries = (r[5] ?? []).map((b) => Number(b.toString()));
    const { targets, missing } = targetsFrom(tag, identities, r[4] ?? [], { tenantId, topic, expiries });
    return {
      events,
      complete: false,
      listed: r[2] ?? 0,
      first: { targets, vanished: missing, read: identities.length },
    };
  }

  /** A page of the dispatch's fixed list (cursor = offset, page of `pageSize` entries). */
  async targetsPage(dispatchId: string, cursor = 0, pageSize = 1000): Promise<TargetsPage> {
    const identities = await this.redis.client.zrangeBuffer(
      dispatchKeys(dispatchId).targets,
      String(cursor),
      String(cursor + pageSize - 1),
    );
    const { targets, missing } = await this.registrations.targetsOf(tagOfId(dispatchId), identities);
    return { targets, vanished: missing, read: identities.length };
  }

  /**
   * Links the events to the dispatch and records its progress: the counts so far replace the
   * previous ones; `complete` once every registration of the topic has been looked at, which
   * also drops the fixed list of targets (in the same step).
   */
  async recordProgress(dispatchId: string, events: readonly ChangeEvent[], progress: DispatchProgress): Promise<void> {
    const primary = events[events.length - 1]!;
    await RECORD_PROGRESS.run(
      this.redis.client,
      [
        dispatchKeys(dispatchId).record,
        dispatchKeys(dispatchId).done,
        dispatchKeys(dispatchId).targets,
        ...events.map((e) => topicKeys(topicTag(e.tenantId, e.topic)).event(e.id)),
      ],
      [
        progress.queued,
        progress.skipped,
        progress.complete ? 1 : 0,
        dispatchId,
        ...events.map((e) => (e.id === primary.id ? 'primary' : 'coalesced')),
      ],
    );
  }

  /** Settles one registration of the dispatch in `bucket`; false when it was settled before (not counted again). */
  async settle(dispatchId: string, registrationId: string, bucket: DeliveryBucket): Promise<boolean> {
    const k = dispatchKeys(dispatchId);
    const r = await SETTLE.run(
      this.redis.client,
      [k.record, k.done],
      [settlementName(registrationId), bucket, this.retentionSeconds],
    );
    return r === 1;
  }

  /** Which of `registrationIds` are settled in the dispatch (1) or not (0), in order. */
  async settled(dispatchId: string, registrationIds: readonly string[]): Promise<number[]> {
    return this.redis.client.smismember(dispatchKeys(dispatchId).done, ...registrationIds.map(settlementName));
  }

  /** The dispatch's counts, or undefined when its record is gone (expired). */
  async counts(dispatchId: string): Promise<DispatchCounts | undefined> {
    const d = await this.redis.client.hgetall(dispatchKeys(dispatchId).record);
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
