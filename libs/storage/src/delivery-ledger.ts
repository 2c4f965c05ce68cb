import { Injectable } from '@nestjs/common';
import type { DeliveryRecord, Subscription } from '@davpush/domain';
import { DispatchStore, DROP_DONE_WHEN_SETTLED } from './dispatch.store';
import { dispatchKeys, keys, tagOfId, topicKeys } from './keys';
import { parseRegistrationId, settlementName } from './registration-id';
import { RECORD_SUCCESS } from './registration.scripts';
import { LuaScript } from './lua-script';
import { RedisService } from './redis.service';
import { RegistrationStore } from './registration.store';
import { TickBatch } from './tick-batch';

/**
 * KEYS: per delivery (topic registrations hash, dispatch hash, dispatch done set). ARGV: 1 now,
 * 2 ttl, then per delivery its identity, secret and settlement name. The registration's success
 * record (only if it still exists: never a stub) and the dispatch counter, each registration
 * counted once per dispatch. Every key of one call is of one topic (one cluster slot).
 */
const ACCEPTED = new LuaScript(`${DROP_DONE_WHEN_SETTLED}${RECORD_SUCCESS}
local now = tonumber(ARGV[1])
for i = 3, #ARGV, 3 do
  local k = (i - 3)
  succeeded(KEYS[k + 1], ARGV[i], ARGV[i + 1], now)
  if redis.call('SADD', KEYS[k + 3], ARGV[i + 2]) == 1 then
    redis.call('HINCRBY', KEYS[k + 2], 'accepted', 1)
    -- Settled after the record expired (past the retention): not left behind for ever.
    if redis.call('TTL', KEYS[k + 2]) == -1 then redis.call('EXPIRE', KEYS[k + 2], ARGV[2]) end
    redis.call('EXPIRE', KEYS[k + 3], ARGV[2])
    dropDoneWhenSettled(KEYS[k + 2], KEYS[k + 3])
  end
end
return (#ARGV - 2) / 3
`);

interface Accepted {
  dispatchId: string;
  registrationId: string;
}

/**
 * How one delivery of a dispatch ended (see `DeliveryBucket` in libs/domain/src/dispatch.ts):
 * `gone` with `prune` also removes the registration (matched by its subscription, so one
 * re-registered meanwhile with another subscription is kept).
 */
export type DeliverySettlement =
  { bucket: 'accepted' } | { bucket: 'gone'; prune: Subscription } | { bucket: 'failed' | 'skipped' };

/**
 * The one writer of what happened to a delivery: the dispatch's counters, the registration's
 * delivery record (success, failures) and pruning. An accepted push is the common case by far:
 * it is recorded on the registration and settled in its dispatch in one step, together with every
 * other push accepted in the same turn of the event loop (one script call for many pushes).
 */
@Injectable()
export class DeliveryLedger {
  private readonly accepted: TickBatch<Accepted>;

  constructor(
    private readonly redis: RedisService,
    private readonly dispatches: DispatchStore,
    private readonly registrations: RegistrationStore,
  ) {
    this.accepted = new TickBatch((items) => this.writeAccepted(items));
  }

  /**
   * Settles one registration of a dispatch, once (a second settlement of it is not counted).
   * Resolves once it is durable; rejects if Redis did not take it. `now`: ms since the epoch.
   */
  async settle(
    dispatchId: string,
    registrationId: string,
    settlement: DeliverySettlement,
    now = Date.now(),
  ): Promise<void> {
    switch (settlement.bucket) {
      case 'accepted':
        return this.accepted.add({ dispatchId, registrationId });
      case 'gone':
        await this.registrations.remove(registrationId, { identity: settlement.prune }, now);
        await this.dispatches.settle(dispatchId, registrationId, 'gone');
        return;
      default:
        await this.dispatches.settle(dispatchId, registrationId, settlement.bucket);
    }
  }

  /**
   * Records how a replayed dead letter ended on its registration only (success, or pruning when
   * gone): its dispatch settled it when it was dead-lettered, and counting it again would make the
   * dispatch's buckets add up to more than it queued.
   */
  async settleReplay(registrationId: string, settlement: DeliverySettlement, now = Date.now()): Promise<void> {
    if (settlement.bucket === 'accepted') await this.registrations.recordDelivery(registrationId, 'success', now);
    else if (settlement.bucket === 'gone')
      await this.registrations.remove(registrationId, { identity: settlement.prune }, now);
  }

  /**
   * Counts a failed attempt (throttled, transient) on the registration, before its delivery is
   * decided: returns the record the failure window is read from, undefined if the registration is gone.
   */
  recordFailure(registrationId: string, now = Date.now()): Promise<DeliveryRecord | undefined> {
    return this.registrations.recordDelivery(registrationId, 'failure', now);
  }

  /** `settle(…, { bucket: 'accepted' })`: resolves once the success is durable; rejects if Redis did not take it. */
  recordAccepted(dispatchId: string, registrationId: string): Promise<void> {
    return this.settle(dispatchId, registrationId, { bucket: 'accepted' });
  }

  /**
   * The registrations of a batch job still to be sent: not settled in the dispatch and not passed
   * on by this job to another. A batch run again after a crash sends only those. A `replay` (a
   * dead letter sent again) is settled in its dispatch by definition: only its hand-offs count.
   */
  async unsettled(
    dispatchId: string,
    batchJobId: string,
    registrationIds: readonly string[],
    replay = false,
  ): Promise<string[]> {
    if (registrationIds.length === 0) return [];
    const [done, handedOff] = await Promise.all([
      replay ? registrationIds.map(() => 0) : this.dispatches.settled(dispatchId, registrationIds),
      this.redis.client.smismember(keys.batchHandedOff(batchJobId), ...registrationIds),
    ]);
    return registrationIds.filter((_, i) => !done[i] && !handedOff[i]);
  }

  /** Deliveries of a batch job that now continue in another job (a retry, or the batch's bounced rest). */
  async handOff(batchJobId: string, registrationIds: readonly string[]): Promise<void> {
    if (registrationIds.length === 0) return;
    const key = keys.batchHandedOff(batchJobId);
    await this.redis.client
      .multi()
      .sadd(key, ...registrationIds)
      .expire(key, this.dispatches.retentionSeconds)
      .exec();
  }

  /** One script call per topic (and dispatch) among the accepted pushes: its keys share a slot. */
  private async writeAccepted(items: Accepted[]): Promise<void> {
    const groups = new Map<string, Accepted[]>();
    for (const a of items) {
      const key = `${tagOfId(a.registrationId)} ${a.dispatchId}`;
      groups.set(key, [...(groups.get(key) ?? []), a]);
    }
    const now = Date.now();
    await Promise.all(
      [...groups.values()].map((group) => {
        const k: string[] = [];
        const args: (string | number | Buffer)[] = [now, this.dispatches.retentionSeconds];
        for (const a of group) {
          const d = dispatchKeys(a.dispatchId);
          const ref = parseRegistrationId(a.registrationId);
          k.push(topicKeys(tagOfId(a.registrationId)).registrations, d.record, d.done);
          args.push(ref?.identity ?? '', ref?.secret ?? '', settlementName(a.registrationId));
        }
        return ACCEPTED.run(this.redis.client, k, args);
      }),
    );
  }
}
