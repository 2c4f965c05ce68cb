import { Injectable } from '@nestjs/common';
import { DROP_DONE_WHEN_SETTLED, RECORD_TTL_SECONDS } from './event.store';
import { keys } from './keys';
import { LuaScript } from './lua-script';
import { RedisService } from './redis.service';
import { TickBatch } from './tick-batch';

/**
 * KEYS: per delivery (registration hash, dispatch hash, dispatch done set). ARGV: 1 now, 2 ttl,
 * then one registration id per delivery. The registration's success record (only if it still
 * exists: never a stub) and the dispatch counter, each registration counted once per dispatch.
 */
const ACCEPTED = new LuaScript(`${DROP_DONE_WHEN_SETTLED}
for i = 3, #ARGV do
  local k = (i - 3) * 3
  if redis.call('EXISTS', KEYS[k + 1]) == 1 then
    redis.call('HSET', KEYS[k + 1], 'l', ARGV[1], 'f', 0)
  end
  if redis.call('SADD', KEYS[k + 3], ARGV[i]) == 1 then
    redis.call('HINCRBY', KEYS[k + 2], 'accepted', 1)
    redis.call('EXPIRE', KEYS[k + 3], ARGV[2])
    dropDoneWhenSettled(KEYS[k + 2], KEYS[k + 3])
  end
end
return #ARGV - 2
`);

interface Accepted {
  dispatchId: string;
  registrationId: string;
}

/**
 * What the delivery hot path writes. An accepted push is the common case by far: it is recorded
 * on the registration and settled in its dispatch in one step, together with every other push
 * accepted in the same turn of the event loop (one script call for many pushes).
 */
@Injectable()
export class DeliveryLedger {
  private readonly accepted: TickBatch<Accepted>;

  constructor(private readonly redis: RedisService) {
    this.accepted = new TickBatch((items) => this.writeAccepted(items));
  }

  /** Resolves once the success is durable; rejects if Redis did not take it. */
  recordAccepted(dispatchId: string, registrationId: string): Promise<void> {
    return this.accepted.add({ dispatchId, registrationId });
  }

  /**
   * The registrations of a batch job still to be sent: not settled in the dispatch and not passed
   * on by this job to another. A batch run again after a crash sends only those.
   */
  async unsettled(dispatchId: string, batchJobId: string, registrationIds: readonly string[]): Promise<string[]> {
    if (registrationIds.length === 0) return [];
    const [done, handedOff] = await Promise.all([
      this.redis.client.smismember(keys.dispatchDone(dispatchId), ...registrationIds),
      this.redis.client.smismember(keys.batchHandedOff(batchJobId), ...registrationIds),
    ]);
    return registrationIds.filter((_, i) => !done[i] && !handedOff[i]);
  }

  /** Deliveries of a batch job that now continue in another job (a retry, or the batch's bounced rest). */
  async handOff(batchJobId: string, registrationIds: readonly string[]): Promise<void> {
    if (registrationIds.length === 0) return;
    const key = keys.batchHandedOff(batchJobId);
    await this.redis.client.multi().sadd(key, ...registrationIds).expire(key, RECORD_TTL_SECONDS).exec();
  }

  private async writeAccepted(items: Accepted[]): Promise<void> {
    const k: string[] = [];
    for (const a of items) k.push(keys.registration(a.registrationId), keys.dispatch(a.dispatchId), keys.dispatchDone(a.dispatchId));
    await ACCEPTED.run(this.redis.client, k, [Date.now(), RECORD_TTL_SECONDS, ...items.map((a) => a.registrationId)]);
  }
}
