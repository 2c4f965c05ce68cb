import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobPublisher, QueueName, jobOptions } from '@davpush/queue';
import { RegistrationStore } from '@davpush/storage';
import { FakePushService } from '../support/fake-push-service';
import { eventually, startHarness, type Harness } from './harness';

const N = 1000;

/**
 * Nothing per registration outlives a fan-out: after one event reached N registrations and its
 * dispatch is settled, storage holds what it held before plus the event's and the dispatch's own
 * small records (the done set, the fixed target list and the hand-offs are gone), and BullMQ keeps
 * only a bounded number of completed batch jobs (libs/queue/src/job-options.ts), so once that bound
 * is reached a further fan-out adds no more than a constant to Redis's whole memory.
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
    for (const k of await redis.keys('*'))
      if (!k.startsWith(QUEUE_PREFIX)) total += Number(await redis.memory('USAGE', k, 'SAMPLES', '0'));
    return total;
  };
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  /**
   * Bytes of every key in Redis, BullMQ's included (MEMORY USAGE, all of each value sampled), but
   * BullMQ's event streams (one per queue, an entry or so per job state change, trimmed by BullMQ
   * to about 10,000 entries). Deterministic, unlike `used_memory`, which moves by tens of KB with
   * the allocator and client buffers (printed beside it).
   */
  const dataBytes = async () => {
    let total = 0;
    for (const k of await redis.keys('*'))
      if (!(k.startsWith(QUEUE_PREFIX) && k.endsWith(':events')))
        total += Number(await redis.memory('USAGE', k, 'SAMPLES', '0'));
    return total;
  };
  const fanOut = async (topic: string, syncToken: string) => {
    const count = push.received().length;
    const res = await h.request('POST', '/v1/events', {
      token: apiKey,
      body: { topic, changes: ['content'], syncToken, urgency: 'high' },
    });
    expect(res.status).toBe(202);
    const { events } = (await res.json()) as { events: { id: string }[] };
    await push.waitFor(count + N, 60_000);
    await eventually(
      async () => {
        const status = await h.request('GET', `/v1/events/${events[0]!.id}`, { token: apiKey });
        return ((await status.json()) as { state: string }).state === 'done';
      },
      30_000,
      'the event done',
    );
    // Its jobs finished too (a job completes a moment after its last settlement): BullMQ has trimmed its completed sets.
    await eventually(
      async () => {
        for (const q of [QueueName.Fanout, QueueName.DeliverWebPush]) {
          const c = await h.app.get(JobPublisher).queue(q).getJobCounts('active', 'waiting', 'delayed');
          if (Object.values(c).some((n) => n > 0)) return false;
        }
        return true;
      },
      30_000,
      'its jobs finished',
    );
  };

  it(`leaves nothing of davpush's own per registration: its keys return to within a small constant (${N} registrations)`, async () => {
    const store = h.app.get(RegistrationStore);
    const res = await h.request('POST', '/v1/topics/big/registrations', {
      token: apiKey,
      body: { subscription: { type: 'web-push', ...sub() } },
    });
    expect(res.status).toBe(201);
    const tenant = (await store.get(res.headers.get('location')!.split('/').pop()!))!.tenantId;
    for (let i = 1; i < N; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, N - i) }, () =>
          store.upsert(
            tenant,
            'big',
            {
              subscription: { type: 'web-push', contentEncoding: 'aes128gcm', ...sub() },
              trigger: { contentUpdate: { depth: '1' } },
              expiresAt: Date.now() + 86_400_000,
            },
            undefined,
          ),
        ),
      );
    }
    // The first fan-outs make the queues' and scripts' fixed structures and fill BullMQ's bound of
    // completed batch jobs (batches of 50 Web Push registrations); the next one is measured.
    const kept = (jobOptions.deliverBatch('d', []).removeOnComplete as { count: number }).count;
    for (let i = 0; i <= Math.ceil(kept / Math.ceil(N / 50)); i++) await fanOut('big', `s1-${i}`);
    const keysBefore = new Set(await redis.keys('*'));
    const before = await usedMemory();
    const dataBefore = await dataBytes();
    const ownBefore = await ownBytes();
    await fanOut('big', 's2');
    const grown = (await usedMemory()) - before;
    const dataGrown = (await dataBytes()) - dataBefore;
    const ownGrown = (await ownBytes()) - ownBefore;
    const added = (await redis.keys('*')).filter((k) => !keysBefore.has(k));
    const own = added.filter((k) => !k.startsWith(QUEUE_PREFIX));
    process.stdout.write(
      `after a fan-out to ${N}: Redis +${grown} B, data +${dataGrown} B (${(dataGrown / N).toFixed(1)} B per registration), of it davpush's own keys +${ownGrown} B ` +
        `(${own.join(' ')}); the rest is BullMQ's (${added.length - own.length} keys added)\n`,
    );
    // Redis as a whole: a constant (the event's and the fan-out job's records), not a completed batch
    // job with its registration ids (some 90 B per registration) for every 50 registrations.
    expect(dataGrown).toBeLessThan(8192);
    // davpush's own data: the event's record and pointer and the dispatch's counters, nothing per registration.
    expect(own.length).toBeLessThanOrEqual(3);
    expect(ownGrown).toBeLessThan(4096);
  }, 180_000);

  function sub() {
    const c = push.subscribe();
    return { pushResource: c.pushResource, publicKey: c.publicKey, authSecret: c.authSecret };
  }
});
