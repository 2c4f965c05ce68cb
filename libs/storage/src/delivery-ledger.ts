import { Injectable } from '@nestjs/common';
import type { DeliveryRecord, Subscription } from '@davpush/domain';
import { DispatchStore, DROP_DONE_WHEN_SETTLED } from './dispatch.store';
import { dispatchKeys, keys, tagOfId, topicKeys } from './keys';
import { parseRegistrationId, settlementName } from './registration-id';
import { RECORD_SUCCESS } from './registration.scripts';
import { LuaScript } from './lua-script';
import { RedisService } from './redis.service';
import { RegistrationStore } from './registration.store';
import { GroupCommit } from './group-commit';

/**
 * KEYS: 1 topic registrations hash, 2 dispatch hash, 3 dispatch done set (one topic and dispatch:
 * one cluster slot). ARGV: 1 now, 2 ttl, then per delivery its identity, secret and settlement
 * name. Each registration's success record (only if it still exists: never a stub), then the
 * dispatch counter by how many were not settled before (each registration counted once per dispatch).
 */
const ACCEPTED = new LuaScript(`${DROP_DONE_WHEN_SETTLED}${RECORD_SUCCESS}
local now = tonumber(ARGV[1])
local names = {}
for i = 3, #ARGV, 3 do
  succeeded(KEYS[1], ARGV[i], ARGV[i + 1], now)
  names[#names + 1] = ARGV[i + 2]
end
local added = redis.call('SADD', KEYS[3], unpack(names))
if added > 0 then
  redis.call('HINCRBY', KEYS[2], 'accepted', added)
  -- Settled after the record expired (past the retention): not left behind for ever.
  if redis.call('TTL', KEYS[2]) == -1 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
  redis.call('EXPIRE', KEYS[3], ARGV[2])
  dropDoneWhenSettled(KEYS[2], KEYS[3])
end
return #names
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
 * other push accepted meanwhile (GroupCommit: one script call for many pushes).
 */
@Injectable()
export class DeliveryLedger {
  private readonly accepted: GroupCommit<Accepted>;

  constructor(
    private readonly redis: RedisService,
    private readonly dispatches: DispatchStore,
    private readonly registrations: RegistrationStore,
  ) {
    this.accepted = new GroupCommit((items) => this.writeAccepted(items));
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
  private async writeAccepted(items: Accepted[]): Promise<unknown[]> {
    const groups = new Map<string, number[]>();
    items.forEach((a, i) => {
      const key = `${tagOfId(a.registrationId)} ${a.dispatchId}`;
      const group = groups.get(key);
      if (group) group.push(i);
      else groups.set(key, [i]);
    });
    const now = Date.now();
    // Each group stands on its own: one that failed must not report the others' pushes unsettled
    // (their batch would send them again once a complete dispatch dropped its done set).
    const errors: unknown[] = items.map(() => undefined);
    await Promise.all(
      [...groups.values()].map(async (group) => {
        const first = items[group[0]!]!;
        const d = dispatchKeys(first.dispatchId);
        const k = [topicKeys(tagOfId(first.registrationId)).registrations, d.record, d.done];
        const args: (string | number | Buffer)[] = [now, this.dispatches.retentionSeconds];
        for (const i of group) {
          const ref = parseRegistrationId(items[i]!.registrationId);
          args.push(ref?.identity ?? '', ref?.secret ?? '', settlementName(items[i]!.registrationId));
        }
        try {
          await ACCEPTED.run(this.redis.client, k, args);
        } catch (err) {
          for (const i of group) errors[i] = err ?? new Error('settlement write failed');
        }
      }),
    );
    return errors;
  }
}
