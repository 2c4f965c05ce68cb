import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '@davpush/config';
import { JobName, JobPublisher, QueueName, type DeliverJobData } from '@davpush/queue';
import { CoreModule } from '@davpush/runtime';
import { RedisService } from '@davpush/storage';
import { RedisServer } from '../../../test/support/redis-server';
import { DeadLetterService } from './dead-letters.service';

const delivery = (registrationId: string, attempt: number): DeliverJobData => ({
  dispatchId: 'f42',
  registrationId,
  tenantId: 't1',
  topic: 'cal-1',
  kinds: ['content'],
  syncToken: 'http://cal.example/sync/7',
  urgency: 'normal',
  deadline: 1_000,
  acceptedAt: 500,
  attempt,
  requestId: 'req-1',
});

describe('DeadLetterService.replay on real Redis and BullMQ', () => {
  let server: RedisServer;
  let app: INestApplicationContext;
  let sut: DeadLetterService;
  let publisher: JobPublisher;
  const TTL_SECONDS = 600;

  beforeAll(async () => {
    server = await RedisServer.start();
    const config = loadConfig({
      REDIS_URL: server.url,
      DAVPUSH_DATA_DIR: server.dir,
      DAVPUSH_VAPID_SUBJECT: 'mailto:ops@davpush.test',
      DAVPUSH_DEFAULT_TTL: String(TTL_SECONDS),
    });
    app = await NestFactory.createApplicationContext(CoreModule.forRoot(config), { logger: false });
    sut = app.get(DeadLetterService);
    publisher = app.get(JobPublisher);
  });
  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });
  beforeEach(async () => {
    await app.get(RedisService).client.flushall();
  });

  const deadLetter = (transport: 'web-push' | 'fcm', registrationId: string) =>
    publisher.deadLetter({
      queue: transport === 'fcm' ? QueueName.DeliverFcm : QueueName.DeliverWebPush,
      transport,
      reason: 'TTL ran out',
      delivery: delivery(registrationId, 7),
      failedAt: 900,
    });

  it('queues each dead letter as a batch of one on its transport, with a fresh attempt count and TTL, and removes it', async () => {
    await deadLetter('web-push', 'reg-w');
    await deadLetter('fcm', 'reg-f');
    const before = Date.now();
    expect(await sut.replay()).toEqual({ replayed: 2, missing: [] });

    expect(await sut.count()).toBe(0);
    for (const [queue, registrationId] of [
      [QueueName.DeliverWebPush, 'reg-w'],
      [QueueName.DeliverFcm, 'reg-f'],
    ] as const) {
      const jobs = await publisher.queue(queue).getJobs(['waiting', 'delayed']);
      expect(jobs.map((j) => j.name)).toEqual([JobName.DeliverBatch]);
      const { deadline, ...rest } = jobs[0]!.data as { deadline: number };
      expect(rest).toEqual({
        dispatchId: 'f42',
        registrationIds: [registrationId],
        tenantId: 't1',
        topic: 'cal-1',
        kinds: ['content'],
        syncToken: 'http://cal.example/sync/7',
        urgency: 'normal',
        acceptedAt: 500,
        attempt: 0,
        requestId: 'req-1',
        replay: true,
      });
      expect(deadline).toBeGreaterThanOrEqual(before + TTL_SECONDS * 1000);
      expect(deadline).toBeLessThanOrEqual(Date.now() + TTL_SECONDS * 1000);
    }
  });

  it('replays the same delivery again when it is dead-lettered again (a new job, not a known id)', async () => {
    await deadLetter('web-push', 'reg-w');
    expect(await sut.replay()).toMatchObject({ replayed: 1 });
    await deadLetter('web-push', 'reg-w');
    const [again] = await sut.list();
    expect(await sut.replay([again!.id, 'no-such-id'])).toEqual({ replayed: 1, missing: ['no-such-id'] });
    const jobs = await publisher.queue(QueueName.DeliverWebPush).getJobs(['waiting', 'delayed']);
    expect(jobs).toHaveLength(2);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(2);
  });
});
