import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistrationStore } from '@davpush/storage';
import { FakePushService } from '../support/fake-push-service';
import { eventually, startHarness, type Harness } from './harness';

const N = 1000;

/**
 * Nothing of davpush's own data per registration outlives a fan-out: after one event reached N
 * registrations and its dispatch is settled, storage holds what it held before plus the event's and
 * the dispatch's own small records (the done set, the fixed target list and the hand-offs are gone).
 * BullMQ keeps completed batch jobs, with their registration ids, for an hour (libs/queue): that
 * share is printed, not asserted here.
 */
describe('Redis after a fan-out', () => {
  let h: Harness;
  let push: FakePushService;
  let redis: Redis;
  let apiKey: string;

  beforeAll(async () => {
    h = await startHarness();
    push = await FakePushService.start();
    ({ apiKey } = await h.createTenant());
    redis = new Redis({ path: h.redis.socketPath });
  });
  afterAll(async () => {
    redis?.disconnect();
    await push?.stop();
    await h?.close();
  });

  const QUEUE_PREFIX = '{davpush-q}';
  /** Bytes of every key outside the queues (MEMORY USAGE, all of each value sampled). */
  const ownBytes = async () => {
    let total = 0;
    for (const k of await redis.keys('*')) if (!k.startsWith(QUEUE_PREFIX)) total += Number(await redis.memory('USAGE', k, 'SAMPLES', '0'));
    return total;
  };
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  const fanOut = async (topic: string, syncToken: string) => {
    const count = push.received().length;
    const res = await h.request('POST', '/v1/events', { token: apiKey, body: { topic, changes: ['content'], syncToken, urgency: 'high' } });
    expect(res.status).toBe(202);
    const { events } = (await res.json()) as { events: { id: string }[] };
    await push.waitFor(count + N, 60_000);
    await eventually(async () => {
      const status = await h.request('GET', `/v1/events/${events[0]!.id}`, { token: apiKey });
      return ((await status.json()) as { state: string }).state === 'done';
    }, 30_000, 'the event done');
  };

  it(`leaves nothing of davpush's own per registration: its keys return to within a small constant (${N} registrations)`, async () => {
    const store = h.app.get(RegistrationStore);
    const res = await h.request('POST', '/v1/topics/big/registrations', { token: apiKey, body: { subscription: { type: 'web-push', ...sub() } } });
    expect(res.status).toBe(201);
    const tenant = (await store.get(res.headers.get('location')!.split('/').pop()!))!.tenantId;
    for (let i = 1; i < N; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, N - i) }, () => store.upsert(tenant, 'big', { subscription: { type: 'web-push', contentEncoding: 'aes128gcm', ...sub() }, trigger: { contentUpdate: { depth: '1' } }, expiresAt: Date.now() + 86_400_000 }, undefined)));
    }
    // A first fan-out makes the queues' and scripts' fixed structures; the second is measured.
    await fanOut('big', 's1');
    const keysBefore = new Set(await redis.keys('*'));
    const before = await usedMemory();
    const ownBefore = await ownBytes();
    await fanOut('big', 's2');
    const grown = (await usedMemory()) - before;
    const ownGrown = (await ownBytes()) - ownBefore;
    const added = (await redis.keys('*')).filter((k) => !keysBefore.has(k));
    const own = added.filter((k) => !k.startsWith(QUEUE_PREFIX));
    process.stdout.write(
      `after a fan-out to ${N}: Redis +${grown} B (${(grown / N).toFixed(1)} B per registration), of it davpush's own keys +${ownGrown} B ` +
        `(${own.join(' ')}); the rest is BullMQ's completed jobs (${added.length - own.length} keys, kept 1 h by libs/queue/src/job-options.ts)\n`,
    );
    // davpush's own data: the event's record and pointer and the dispatch's counters, nothing per registration.
    expect(own.length).toBeLessThanOrEqual(3);
    expect(ownGrown).toBeLessThan(4096);
  }, 180_000);

  function sub() {
    const c = push.subscribe();
    return { pushResource: c.pushResource, publicKey: c.publicKey, authSecret: c.authSecret };
  }
});
