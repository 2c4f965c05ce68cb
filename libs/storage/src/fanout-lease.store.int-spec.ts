import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type AppConfig } from '@davpush/config';
import { RedisServer } from '../../../test/support/redis-server';
import { DispatchStore } from './dispatch.store';
import { EventStore } from './event.store';
import { FanoutLeaseStore, type LeasedFanout } from './fanout-lease.store';
import { topicKeys, topicTag } from './keys';
import { RedisService } from './redis.service';
import { RegistrationStore } from './registration.store';
import { dispatchIdFor } from './registration-id';

/** Leases of fan-outs run outside the queue (apps/worker/src/fan-out/in-process-fanout.ts), on real Redis. */
describe('FanoutLeaseStore on real Redis', () => {
  let server: RedisServer;
  let redis: RedisService;
  let config: AppConfig;
  let leases: FanoutLeaseStore;
  let dispatches: DispatchStore;
  let events: EventStore;

  const fanout = (topic: string, name = 'l1'): LeasedFanout => ({
    tenantId: 't1',
    topic,
    dispatchId: dispatchIdFor('t1', topic, name),
  });

  beforeAll(async () => {
    server = await RedisServer.start();
    config = loadConfig({ REDIS_URL: server.url });
    redis = new RedisService(config);
    leases = new FanoutLeaseStore(redis);
    dispatches = new DispatchStore(redis, new RegistrationStore(redis), config);
    events = new EventStore(redis, dispatches);
  });
  afterAll(async () => {
    await redis?.onApplicationShutdown();
    await server?.stop();
  });
  beforeEach(async () => {
    await redis.client.flushall();
  });

  it('lists a lease only once it ended, and a renewal moves its end', async () => {
    const a = fanout('cal-a');
    const b = fanout('cal-b');
    await leases.take(a, 1_000);
    await leases.take(b, 5_000);
    expect((await leases.lapsed(2_000)).map((l) => l.dispatchId)).toEqual([a.dispatchId]);
    await leases.renew([a, b], 10_000);
    expect(await leases.lapsed(9_999)).toEqual([]);
    expect((await leases.lapsed(10_000)).map((l) => l.topic).toSorted()).toEqual(['cal-a', 'cal-b']);
  });

  it('takes a lease again on renewal when it was lost (a failover), and a release drops it', async () => {
    const a = fanout('cal-a');
    await leases.take(a, 1_000);
    await redis.client.flushall();
    await leases.renew([a], 2_000);
    expect((await leases.lapsed(2_000)).map((l) => l.dispatchId)).toEqual([a.dispatchId]);
    await leases.release(a);
    expect(await leases.lapsed(Number.MAX_SAFE_INTEGER)).toEqual([]);
  });

  it('drops a lapsed lease only if nobody renewed it since it was read', async () => {
    const a = fanout('cal-a');
    await leases.take(a, 1_000);
    const [seen] = await leases.lapsed(2_000);
    await leases.renew([a], 3_000);
    await leases.dropLapsed(seen!);
    expect(await leases.lapsed(4_000)).toHaveLength(1);
    const [again] = await leases.lapsed(4_000);
    await leases.dropLapsed(again!);
    expect(await leases.lapsed(4_000)).toEqual([]);
  });

  it('calls a dispatch finished when it never claimed anything or completed, not while it runs', async () => {
    const a = fanout('cal-a');
    expect(await leases.finished(a.dispatchId)).toBe(true);
    const event = {
      id: 'e1',
      tenantId: 't1',
      topic: 'cal-a',
      changes: ['content' as const],
      syncToken: 's1',
      urgency: 'high' as const,
      ttl: 60,
      dontNotify: [],
      receivedAt: Date.now(),
    };
    // A live registration so the event is parked, not only recorded.
    await redis.client.zadd(topicKeys(topicTag('t1', 'cal-a')).expiry, Date.now() + 60_000, 'someone');
    expect((await events.accept([event]))[0]).toMatchObject({ parked: 'leading' });
    const started = await dispatches.claimAndList('t1', 'cal-a', a.dispatchId, Date.now(), 0, 10);
    expect(started.events.map((e) => e.id)).toEqual(['e1']);
    expect(await leases.finished(a.dispatchId)).toBe(false);
    await dispatches.recordProgress(a.dispatchId, started.events, { queued: 1, skipped: 0, complete: false });
    expect(await leases.finished(a.dispatchId)).toBe(false);
    await dispatches.recordProgress(a.dispatchId, started.events, { queued: 1, skipped: 0, complete: true });
    expect(await leases.finished(a.dispatchId)).toBe(true);
  });
});
