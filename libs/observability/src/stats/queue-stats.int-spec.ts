import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { getQueueToken } from '@nestjs/bullmq';
import { Worker, type Queue } from 'bullmq';
import { createECDH, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '@davpush/config';
import type { Subscription } from '@davpush/domain';
import { bullConnection, QUEUE_PREFIX, QueueName } from '@davpush/queue';
import { CoreModule } from '@davpush/runtime';
import { RedisService, RegistrationStore } from '@davpush/storage';
import { RedisServer } from '../../../../test/support/redis-server';
import { QueueStatsService } from './queue-stats.service';
import { RegistrationStatsService } from './registration-stats.service';

const ecdh = createECDH('prime256v1');
ecdh.generateKeys();
const webPush = (n: number): Subscription => ({
  type: 'web-push',
  pushResource: `https://push.example/${n}`,
  publicKey: ecdh.getPublicKey('base64url'),
  authSecret: randomBytes(16).toString('base64url'),
  contentEncoding: 'aes128gcm',
});
const fcm = (n: number): Subscription => ({ type: 'fcm', token: `token-${n}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('QueueStatsService and RegistrationStatsService on real Redis and BullMQ', () => {
  let server: RedisServer;
  let app: INestApplicationContext;
  let redis: RedisService;
  const queue = (name: QueueName) => app.get<Queue>(getQueueToken(name), { strict: false });

  beforeAll(async () => {
    server = await RedisServer.start();
    const config = loadConfig({
      REDIS_URL: server.url,
      DAVPUSH_DATA_DIR: server.dir,
      DAVPUSH_VAPID_SUBJECT: 'mailto:ops@davpush.test',
    });
    app = await NestFactory.createApplicationContext(CoreModule.forRoot(config), { logger: false });
    redis = app.get(RedisService);
  });
  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });
  beforeEach(async () => {
    await redis.client.flushall();
  });

  it('counts jobs per state and ages the job that has waited longest, not the newest', async () => {
    await queue(QueueName.Fanout).add('fanout', { tenantId: 't', topic: 'a' });
    await sleep(300);
    await queue(QueueName.Fanout).add('fanout', { tenantId: 't', topic: 'b' });
    await queue(QueueName.Fanout).add('fanout', { tenantId: 't', topic: 'c' }, { delay: 60_000 });
    const snap = await app.get(QueueStatsService).snapshot(0);
    expect(snap.errors).toEqual([]);
    expect(snap.queues.map((q) => q.name)).toEqual(Object.values(QueueName));
    const fanout = snap.queues.find((q) => q.name === QueueName.Fanout)!;
    expect(fanout.counts).toMatchObject({ waiting: 2, delayed: 1, active: 0, failed: 0 });
    expect(fanout.oldestWaitingAgeMs).toBeGreaterThanOrEqual(290);
    expect(fanout.oldestWaitingAgeMs).toBeLessThan(5000);
    expect(snap.queues.find((q) => q.name === QueueName.DeliverFcm)!.oldestWaitingAgeMs).toBeNull();
  });

  it('counts what finished in the last minute, and reports BullMQ per-minute metrics when the worker records them', async () => {
    const q = queue(QueueName.DeliverFcm);
    const worker = new Worker(
      QueueName.DeliverFcm,
      async (job) => {
        if (job.data.fail) throw new Error('nope');
        return 'ok';
      },
      {
        connection: bullConnection(loadConfig({ REDIS_URL: server.url })),
        prefix: QUEUE_PREFIX,
        metrics: { maxDataPoints: 60 },
      },
    );
    try {
      for (let i = 0; i < 3; i++) await q.add('deliver', { fail: false });
      await q.add('deliver', { fail: true }, { attempts: 1 });
      const deadline = Date.now() + 10_000;
      let snap;
      do {
        await sleep(50);
        snap = (await app.get(QueueStatsService).snapshot(0)).queues.find((x) => x.name === QueueName.DeliverFcm)!;
      } while (snap.lastMinute.completed + snap.lastMinute.failed < 4 && Date.now() < deadline);
      expect(snap.lastMinute).toEqual({ completed: 3, failed: 1 });
      expect(snap.counts).toMatchObject({ completed: 3, failed: 1, waiting: 0 });
      // Recorded (the worker has `metrics`); BullMQ adds a data point per completed minute only.
      expect(snap.perMinute).toEqual({ completed: expect.any(Array), failed: expect.any(Array) });
    } finally {
      await worker.close();
    }
  });

  it('shares one Redis read between callers inside the cache TTL', async () => {
    const stats = app.get(QueueStatsService);
    const first = await stats.snapshot(0);
    await queue(QueueName.Fanout).add('fanout', { tenantId: 't', topic: 'late' });
    const cached = await stats.snapshot();
    expect(cached).toBe(first);
    const fresh = await stats.snapshot(0);
    expect(fresh.queues.find((q) => q.name === QueueName.Fanout)!.counts.waiting).toBe(1);
  });

  it('counts live registrations per transport, exactly below the scan cap and scaled above it', async () => {
    const store = app.get(RegistrationStore);
    const now = Date.now();
    const add = (sub: Subscription, n: number, expiresAt = now + 86_400_000 + n) =>
      store.upsert(
        't1',
        `topic-${n}`,
        { subscription: sub, trigger: { contentUpdate: { depth: '1' } }, expiresAt },
        undefined,
        now,
      );
    for (let i = 0; i < 6; i++) await add(webPush(i), i);
    for (let i = 6; i < 8; i++) await add(fcm(i), i);
    // Expired, not yet swept: never counted.
    await add(fcm(99), 99, now + 50);
    await sleep(80);
    const stats = app.get(RegistrationStatsService);
    expect(await stats.counts(0)).toEqual({ total: 8, byTransport: { 'web-push': 6, fcm: 2 }, sampled: false });
    stats.maxScanned = 4;
    // The 4 soonest to expire are web-push: the sample says 100 % web-push, scaled to the exact total.
    expect(await stats.counts(0)).toEqual({ total: 8, byTransport: { 'web-push': 8, fcm: 0 }, sampled: true });
  });

  it('counts every registration of a topic larger than one read page, exactly', async () => {
    const store = app.get(RegistrationStore);
    const now = Date.now();
    const add = (sub: Subscription, topic: string, n: number) =>
      store.upsert(
        't1',
        topic,
        { subscription: sub, trigger: { contentUpdate: { depth: '1' } }, expiresAt: now + 86_400_000 + n },
        undefined,
        now,
      );
    // One topic of 2,500 Web Push registrations (the census reads 1,000 at a time), and 3 FCM elsewhere.
    for (let i = 0; i < 2500; i += 250)
      await Promise.all(Array.from({ length: 250 }, (_, j) => add(webPush(i + j), 'big', i + j)));
    for (let i = 0; i < 3; i++) await add(fcm(i), `small-${i}`, 5000 + i);
    const stats = app.get(RegistrationStatsService);
    stats.maxScanned = 20_000;
    expect(await stats.counts(0)).toEqual({ total: 2503, byTransport: { 'web-push': 2500, fcm: 3 }, sampled: false });
  });
});
