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

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('lists a lease only once it ended by the Redis clock, and a renewal moves its end', async () => {
    const a = fanout('cal-a');
    const b = fanout('cal-b');
    await leases.take(a, 100);
    await leases.take(b, 60_000);
    expect(await leases.lapsed()).toEqual([]);
    await sleep(150);
    const [lapsed, ...more] = await leases.lapsed();
    expect(more).toEqual([]);
    expect(lapsed).toMatchObject({ tenantId: 't1', topic: 'cal-a', dispatchId: a.dispatchId });
    expect(lapsed!.lapsedMs).toBeGreaterThanOrEqual(0);
    expect(lapsed!.lapsedMs).toBeLessThan(5_000);
    await leases.renew([a, b], 60_000);
    expect(await leases.lapsed()).toEqual([]);
  });

  it('takes a lease again on renewal when it was lost (a failover), and a release drops it', async () => {
    const a = fanout('cal-a');
    await leases.take(a, 60_000);
    await redis.client.flushall();
    await leases.renew([a], 0);
    expect((await leases.lapsed()).map((l) => l.dispatchId)).toEqual([a.dispatchId]);
    await leases.release(a);
    expect(await leases.lapsed()).toEqual([]);
  });

  it('drops a lapsed lease only if nobody renewed it since it was read', async () => {
    const a = fanout('cal-a');
    await leases.take(a, 0);
    const [seen] = await leases.lapsed();
    await leases.renew([a], 0);
    await leases.dropLapsed(seen!);
    const [again] = await leases.lapsed();
    expect(again).toBeDefined();
    await leases.dropLapsed(again!);
    expect(await leases.lapsed()).toEqual([]);
  });

  it('tells an unclaimed dispatch from a running and a complete one', async () => {
    const a = fanout('cal-a');
    expect(await leases.stateOf(a.dispatchId)).toBe('unclaimed');
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
    expect(await leases.stateOf(a.dispatchId)).toBe('running');
    await dispatches.recordProgress(a.dispatchId, started.events, { queued: 1, skipped: 0, complete: false });
    expect(await leases.stateOf(a.dispatchId)).toBe('running');
    await dispatches.recordProgress(a.dispatchId, started.events, { queued: 1, skipped: 0, complete: true });
    expect(await leases.stateOf(a.dispatchId)).toBe('complete');
  });
});
