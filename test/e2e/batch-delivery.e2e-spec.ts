import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { QUEUE_PREFIX, QueueName } from '@davpush/queue';
import { FakePushService } from '../support/fake-push-service';
import type { WebPushClient } from '../support/webpush-client';
import { eventually, registerWebPush, startHarness, type Harness } from './harness';

/**
 * Web Push deliveries travel in batch jobs per push-service origin; every push still passes its
 * origin's gate on its own. A slow origin must not hold up another origin's batch, and the pushes
 * its gate turns away go back to the queue together, as one batch, each delivered exactly once.
 */
describe('Web Push batches per origin', () => {
  let h: Harness;
  let slow: FakePushService;
  let fast: FakePushService;
  let apiKey: string;
  let queue: Queue;

  beforeAll(async () => {
    // Two requests in flight per origin: a slow origin turns most of a batch away. Every topic goes
    // through batch jobs (none is delivered inside its fan-out job: delivery-semantics.e2e-spec.ts).
    h = await startHarness({
      DAVPUSH_ORIGIN_CONCURRENCY: '2',
      DAVPUSH_COALESCE_MS: '50',
      DAVPUSH_INLINE_DELIVERY_MAX: '0',
    });
    slow = await FakePushService.start();
    fast = await FakePushService.start();
    ({ apiKey } = await h.createTenant());
    queue = new Queue(QueueName.DeliverWebPush, { connection: { path: h.redis.socketPath }, prefix: QUEUE_PREFIX });
  });
  afterAll(async () => {
    await queue?.close();
    await slow?.stop();
    await fast?.stop();
    await h?.close();
  });

  const register = async (push: FakePushService, topic: string): Promise<WebPushClient> => {
    const { client: c, res } = await registerWebPush(h, apiKey, push, topic);
    expect(res.status).toBe(201);
    return c;
  };
  const accepted = (push: FakePushService, c: WebPushClient) =>
    push.received(push.idOf(c)).filter((r) => r.status === 201);

  it('delivers a fast origin at once while a slow one is worked off, every push once, turned-away pushes as one batch', async () => {
    slow.setLatency(1200);
    const slowClients: WebPushClient[] = [];
    for (let i = 0; i < 8; i++) slowClients.push(await register(slow, 'cal'));
    const fastClients: WebPushClient[] = [];
    for (let i = 0; i < 3; i++) fastClients.push(await register(fast, 'cal'));

    const sentAt = Date.now();
    expect(
      (
        await h.request('POST', '/v1/events', {
          token: apiKey,
          body: { topic: 'cal', changes: ['content'], syncToken: 'b1', id: 'batch-1' },
        })
      ).status,
    ).toBe(202);
    await eventually(async () => fastClients.every((c) => accepted(fast, c).length === 1), 5000, 'the fast origin');
    expect(Date.now() - sentAt).toBeLessThan(1200);

    const status = await eventually(
      async () => {
        const s = (await (await h.request('GET', '/v1/events/batch-1', { token: apiKey })).json()) as { state: string };
        return s.state === 'done' && s;
      },
      30_000,
      'every push settled',
    );
    expect(status).toMatchObject({ deliveries: { pending: 0, accepted: 11, gone: 0, failed: 0, skipped: 0 } });
    for (const c of slowClients) {
      expect(accepted(slow, c)).toHaveLength(1);
      expect(slow.decryptRecord(accepted(slow, c)[0]!)).toContain('<D:sync-token>b1</D:sync-token>');
    }
    for (const c of fastClients) expect(accepted(fast, c)).toHaveLength(1);

    const jobs = await queue.getJobs(['completed', 'delayed', 'waiting', 'active']);
    // Each origin's batch, plus the slow origin's rest (turned away by its gate) as batches again:
    // never a job per turned-away push.
    expect(jobs.every((j) => j.name === 'deliver-batch')).toBe(true);
    expect(jobs.length).toBeGreaterThanOrEqual(3);
    const first = jobs.filter((j) => (j.data as { registrationIds: string[] }).registrationIds.length === 8);
    expect(first).toHaveLength(1);
  }, 60_000);

  it('holds a busy origin that keeps answering to its concurrency: no bounced batch, nothing left per registration', async () => {
    const busy = await FakePushService.start();
    const redis = new Redis({ path: h.redis.socketPath });
    try {
      busy.setLatency(15);
      const warm = await register(busy, 'warm-up');
      const clients: WebPushClient[] = [];
      for (let i = 0; i < 150; i++) clients.push(await register(busy, 'busy'));
      // The origin has answered just now: it counts as busy, not silent.
      await h.request('POST', '/v1/events', {
        token: apiKey,
        body: { topic: 'warm-up', changes: ['content'], urgency: 'high' },
      });
      await eventually(async () => accepted(busy, warm).length === 1, 5000, 'the warm-up push');
      // Key names are private to libs/storage: what this fan-out leaves is what a scan finds that was not there before.
      const leftovers = async () => [
        ...(await redis.keys('*:handed-off')),
        ...(await redis.keys('*:dispatch:*:done')),
        ...(await redis.keys('*:dispatch:*:targets')),
      ];
      const before = new Set(await leftovers());
      expect(
        (
          await h.request('POST', '/v1/events', {
            token: apiKey,
            body: { topic: 'busy', changes: ['content'], syncToken: 'p1', id: 'busy-1', urgency: 'high' },
          })
        ).status,
      ).toBe(202);
      await eventually(
        async () => {
          const s = (await (await h.request('GET', '/v1/events/busy-1', { token: apiKey })).json()) as {
            state: string;
            deliveries: { accepted: number };
          };
          return s.state === 'done' && s.deliveries.accepted === 150;
        },
        30_000,
        'every push accepted',
      );
      for (const c of clients) expect(accepted(busy, c)).toHaveLength(1);
      // 150 pushes through 2 slots: three batches of 50, and not one job more.
      const jobs = (await queue.getJobs(['completed', 'delayed', 'waiting', 'active'])).filter(
        (j) => (j.data as { topic: string }).topic === 'busy',
      );
      expect(jobs.map((j) => (j.data as { registrationIds: string[] }).registrationIds.length).toSorted()).toEqual([
        50, 50, 50,
      ]);
      // Nothing per registration outlives the fan-out: no hand-off sets, no done set, no target list.
      await eventually(
        async () => (await leftovers()).every((k) => before.has(k)),
        5000,
        'nothing per registration left',
      );
    } finally {
      redis.disconnect();
      await busy.stop();
    }
  }, 60_000);
});
