import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@davpush/config';
import type { ChangeEvent } from '@davpush/domain';
import { RedisServer } from '../../../test/support/redis-server';
import { registerWebPush } from '../../../test/support/web-push-registrations';
import { DeliveryLedger } from './delivery-ledger';
import { DispatchStore } from './dispatch.store';
import { EventStore } from './event.store';
import { dispatchKeys, keys, topicKeys, topicTag } from './keys';
import { dispatchIdFor } from './registration-id';
import { RedisService } from './redis.service';
import { RegistrationStore } from './registration.store';

const RETENTION = 120;

/** `DAVPUSH_EVENT_RETENTION_SECONDS`: every record of an event and its dispatch expires after it. */
describe('event and dispatch retention on real Redis', () => {
  let server: RedisServer;
  let redis: RedisService;
  let registrations: RegistrationStore;
  let dispatches: DispatchStore;
  let events: EventStore;
  let ledger: DeliveryLedger;

  beforeAll(async () => {
    server = await RedisServer.start();
    const config = loadConfig({ REDIS_URL: server.url, DAVPUSH_EVENT_RETENTION_SECONDS: String(RETENTION) });
    redis = new RedisService(config);
    registrations = new RegistrationStore(redis);
    dispatches = new DispatchStore(redis, registrations, config);
    events = new EventStore(redis, dispatches);
    ledger = new DeliveryLedger(redis, dispatches, registrations);
  });
  afterAll(async () => {
    await redis?.onApplicationShutdown();
    await server?.stop();
  });

  const register = async () => (await registerWebPush(registrations, 1))[0]!;
  const event = (id: string): ChangeEvent => ({
    id,
    tenantId: 't1',
    topic: 'cal',
    changes: ['content'],
    urgency: 'normal',
    ttl: 60,
    dontNotify: [],
    receivedAt: Date.now(),
  });
  const ttl = (key: string) => redis.client.ttl(key);

  it('expires the event record, its id pointer, the dispatch record and its done, target and handed-off sets after the retention', async () => {
    const ids = [await register(), await register(), await register()];
    const [accepted] = await events.accept([event('e-1')]);
    expect(accepted).toMatchObject({ fresh: true, live: 3 });
    const dispatchId = dispatchIdFor('t1', 'cal', 'f1');
    expect(await dispatches.claimAndList('t1', 'cal', dispatchId, Date.now(), 0, 1000)).toMatchObject({
      events: [expect.objectContaining({ id: 'e-1' })],
      listed: 3,
    });
    const d = dispatchKeys(dispatchId);
    // The fixed list of targets expires within the retention too, and goes once the fan-out is complete.
    expect(await ttl(d.targets)).toBeGreaterThan(RETENTION - 10);
    expect(await ttl(d.targets)).toBeLessThanOrEqual(RETENTION);
    // One accepted, one settled otherwise, one handed off to a retry: the dispatch stays open.
    await dispatches.recordProgress(dispatchId, [event('e-1')], { queued: 3, skipped: 0, complete: true });
    expect(await redis.client.exists(d.targets)).toBe(0);
    await ledger.settle(dispatchId, ids[0]!, { bucket: 'accepted' });
    await ledger.settle(dispatchId, ids[1]!, { bucket: 'failed' });
    await ledger.handOff('b-job-1', [ids[2]!]);

    const kept = [
      topicKeys(topicTag('t1', 'cal')).event('e-1'),
      keys.eventTopic('t1', 'e-1'),
      d.record,
      d.done,
      keys.batchHandedOff('b-job-1'),
    ];
    // Every one exists (-2 = missing) and expires (-1 = never) within the retention, not the 24 h default.
    const left = await Promise.all(kept.map(async (key) => [key, await ttl(key)] as const));
    expect(left.filter(([, s]) => s <= RETENTION - 10 || s > RETENTION)).toEqual([]);
    expect(await events.status('t1', 'e-1')).toMatchObject({
      state: 'dispatching',
      deliveries: { pending: 1, accepted: 1, failed: 1 },
    });
  });

  it('never leaves a dispatch record without expiry when a delivery settles after it expired', async () => {
    const [a, b] = [await register(), await register()];
    const dispatchId = dispatchIdFor('t1', 'cal', 'f-expired');
    await ledger.settle(dispatchId, a, { bucket: 'accepted' });
    await ledger.settle(dispatchId, b, { bucket: 'failed' });
    const left = await ttl(dispatchKeys(dispatchId).record);
    expect(left).toBeGreaterThan(RETENTION - 10);
    expect(left).toBeLessThanOrEqual(RETENTION);
  });

  it('refuses a retention under a minute', () => {
    expect(() => loadConfig({ REDIS_URL: server.url, DAVPUSH_EVENT_RETENTION_SECONDS: '59' })).toThrow(
      /DAVPUSH_EVENT_RETENTION_SECONDS/,
    );
    expect(loadConfig({ REDIS_URL: server.url }).eventRetentionSeconds).toBe(86_400);
  });
});
