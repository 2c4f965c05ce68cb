import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '@davpush/config';
import { RedisServer } from '../../../test/support/redis-server';
import { registerWebPush } from '../../../test/support/web-push-registrations';
import { DeliveryLedger } from './delivery-ledger';
import { DispatchStore } from './dispatch.store';
import { dispatchKeys, keys } from './keys';
import { RedisService } from './redis.service';
import { RegistrationStore } from './registration.store';

describe('DeliveryLedger on real Redis', () => {
  let server: RedisServer;
  let redis: RedisService;
  let sut: DeliveryLedger;
  let registrations: RegistrationStore;
  let events: DispatchStore;

  beforeAll(async () => {
    server = await RedisServer.start();
    redis = new RedisService(loadConfig({ REDIS_URL: server.url }));
    registrations = new RegistrationStore(redis);
    events = new DispatchStore(redis, registrations, loadConfig({ REDIS_URL: server.url }));
    sut = new DeliveryLedger(redis, events, registrations);
  });
  afterAll(async () => {
    await redis?.onApplicationShutdown();
    await server?.stop();
  });
  beforeEach(async () => {
    await redis.client.flushall();
  });

  const register = (n: number) => registerWebPush(registrations, n, (i) => `https://push.example/${i}`);

  it('settles concurrent accepted deliveries in one script call, each counted once, and records the success', async () => {
    const ids = await register(3);
    await registrations.recordDelivery(ids[0]!, 'failure');
    await sut.recordAccepted('d0', ids[2]!); // Redis learns the script (EVALSHA after this)
    const monitor = await new Redis(server.url).monitor();
    const commands: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => commands.push(String(args[0]).toLowerCase()));
    await Promise.all([...ids.map((id) => sut.recordAccepted('d1', id)), sut.recordAccepted('d1', ids[0]!)]);
    await new Promise((r) => setTimeout(r, 50));
    monitor.disconnect();
    expect(commands.filter((c) => c === 'evalsha' || c === 'eval')).toHaveLength(1);
    expect(Number(await redis.client.hget(dispatchKeys('d1').record, 'accepted'))).toBe(3);
    const first = await registrations.get(ids[0]!);
    expect(first?.consecutiveFailures).toBe(0);
    expect(first?.lastSuccessAt).toBeGreaterThan(0);
    // A settlement through the other path does not count the same registration twice.
    expect(await events.settle('d1', ids[1]!, 'accepted')).toBe(false);
  });

  it('never leaves a stub behind for a registration deleted while its push was in flight', async () => {
    const ids = await register(1);
    await registrations.remove(ids[0]!);
    await sut.recordAccepted('d1', ids[0]!);
    expect((await redis.client.keys('*')).filter((k) => !k.startsWith('{d1}') && !k.startsWith('{sweep.'))).toEqual([]);
    expect(Number(await redis.client.hget(dispatchKeys('d1').record, 'accepted'))).toBe(1);
  });

  it('names what a batch run again must still send: neither settled nor handed over to a retry', async () => {
    const ids = await register(4);
    await sut.recordAccepted('d1', ids[0]!);
    await events.settle('d1', ids[1]!, 'gone');
    await sut.handOff('b-d1-x', [ids[2]!]);
    expect(await sut.unsettled('d1', 'b-d1-x', ids)).toEqual([ids[3]]);
    // What one batch passed on is that batch's business: the job it went to still sends it.
    expect(await sut.unsettled('d1', 'b-d1-y', ids)).toEqual([ids[2], ids[3]]);
    expect(await sut.unsettled('d2', 'b-d2-x', ids)).toEqual(ids);
    expect(await redis.client.ttl(keys.batchHandedOff('b-d1-x'))).toBeGreaterThan(0);
  });

  it('leaves nothing per registration once a complete dispatch is settled: the done set goes, the counters stay', async () => {
    const ids = await register(3);
    const event = {
      id: 'e1',
      tenantId: 't1',
      topic: 'cal',
      changes: ['content' as const],
      urgency: 'normal' as const,
      ttl: 60,
      dontNotify: [],
      receivedAt: Date.now(),
    };
    await events.recordProgress('d3', [event], { queued: 3, skipped: 0, complete: false });
    await sut.recordAccepted('d3', ids[0]!);
    await events.settle('d3', ids[1]!, 'gone');
    // Everything settled but the fan-out not complete yet: still needed.
    await sut.recordAccepted('d3', ids[2]!);
    expect(await redis.client.scard(dispatchKeys('d3').done)).toBe(3);
    await events.recordProgress('d3', [event], { queued: 3, skipped: 0, complete: true });
    expect(await redis.client.exists(dispatchKeys('d3').done)).toBe(0);
    expect(await redis.client.hmget(dispatchKeys('d3').record, 'accepted', 'gone', 'events')).toEqual(['2', '1', '[]']);

    // Complete first, then the last delivery settles: gone at that moment.
    await events.recordProgress('d4', [event], { queued: 2, skipped: 0, complete: true });
    await sut.recordAccepted('d4', ids[0]!);
    expect(await redis.client.exists(dispatchKeys('d4').done)).toBe(1);
    await events.settle('d4', ids[1]!, 'failed');
    expect(await redis.client.exists(dispatchKeys('d4').done)).toBe(0);
  });

  it('settles every bucket once, prunes a gone registration, and counts failures on the registration', async () => {
    const ids = await register(4);
    const sub = (await registrations.get(ids[1]!))!.subscription;
    await sut.settle('d5', ids[0]!, { bucket: 'accepted' });
    await sut.settle('d5', ids[1]!, { bucket: 'gone', prune: sub });
    await sut.settle('d5', ids[2]!, { bucket: 'failed' });
    await sut.settle('d5', ids[3]!, { bucket: 'skipped' });
    // A second settlement of one registration is not counted again.
    await sut.settle('d5', ids[2]!, { bucket: 'skipped' });
    expect(await redis.client.hmget(dispatchKeys('d5').record, 'accepted', 'gone', 'failed', 'skipped')).toEqual([
      '1',
      '1',
      '1',
      '1',
    ]);
    expect(await registrations.get(ids[1]!)).toBeUndefined();
    expect(await registrations.get(ids[2]!)).toBeDefined();
    expect((await sut.recordFailure(ids[2]!))?.consecutiveFailures).toBe(1);
    expect((await sut.recordFailure(ids[2]!))?.consecutiveFailures).toBe(2);
    expect(await sut.recordFailure(ids[1]!)).toBeUndefined();
  });
});
