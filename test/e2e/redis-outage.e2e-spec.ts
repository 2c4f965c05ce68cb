import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobPublisher, QueueName } from '@davpush/queue';
import { RedisService } from '@davpush/storage';
import { FakePushService } from '../support/fake-push-service';
import { RedisServer } from '../support/redis-server';
import { eventually, registerWebPush, startHarness, type Harness } from './harness';

const COMMAND_TIMEOUT_MS = 1000;

/** With Redis gone or not answering, the API says so (503, Retry-After) instead of a bare 500 or a hang, and recovers by itself. */
describe('Redis outage at the front door', () => {
  let h: Harness;
  let redis: RedisServer;
  let apiKey: string;
  const thaw = () => redis?.thaw();
  beforeAll(async () => {
    redis = await RedisServer.start({ appendonly: true });
    h = await startHarness(
      { DAVPUSH_REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS) },
      { api: true, worker: false },
      redis,
    );
    ({ apiKey } = await h.createTenant());
  });
  afterAll(async () => {
    thaw();
    await h?.close();
    await redis?.stop();
  });

  it('answers 503 storage-timeout within about DAVPUSH_REDIS_COMMAND_TIMEOUT_MS while Redis does not answer, and 202 once it does', async () => {
    const event = () =>
      h.request('POST', '/v1/events', { token: apiKey, body: { topic: 'cal', changes: ['content'] } });
    expect((await event()).status).toBe(202);
    redis.freeze();
    let res: Response;
    const start = performance.now();
    try {
      res = await event();
    } finally {
      thaw();
    }
    const ms = performance.now() - start;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    const problem = (await res.json()) as { type: string; detail: string };
    expect(problem.type).toBe('https://davpush.dev/problems/storage-timeout');
    expect(problem.detail).toMatch(/may or may not have taken effect/);
    expect(ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 5);
    expect(ms).toBeLessThan(3 * COMMAND_TIMEOUT_MS);
    expect((await event()).status).toBe(202);
  });

  it('answers 503 storage-timeout when the fan-out job cannot be added in time; the job lands once Redis takes it', async () => {
    const push = await FakePushService.start();
    const unblock = () => h.app.get(RedisService).client.lpush('test:never', 'go');
    try {
      expect((await registerWebPush(h, apiKey, push, 'stuck')).res.status).toBe(201);
      const fanout = h.app.get(JobPublisher).queue(QueueName.Fanout);
      const queued = async () => {
        const c = await fanout.getJobCounts('waiting', 'delayed', 'prioritized');
        return Object.values(c).reduce((a, b) => a + b, 0);
      };
      const before = await queued();
      // BullMQ's producer connection (no command timeout) stuck behind a command that does not end,
      // while the stores' connection answers: the event is stored, its job add waits behind BLPOP.
      const bull = (await fanout.backend.client) as unknown as Redis;
      const stuck = bull.blpop('test:never', 0);
      const start = performance.now();
      const posted = h.request('POST', '/v1/events', {
        token: apiKey,
        body: { id: 'stuck-1', topic: 'stuck', changes: ['content'] },
      });
      // An answer that does not come (the add unbounded) fails here, not at the test's own timeout.
      const res = await Promise.race([
        posted,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 3 * COMMAND_TIMEOUT_MS)),
      ]);
      const ms = performance.now() - start;
      expect(res?.status).toBe(503);
      expect(res!.headers.get('retry-after')).toBe('2');
      expect(((await res!.json()) as { type: string }).type).toBe('https://davpush.dev/problems/storage-timeout');
      expect(ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 5);
      // The add that timed out still lands once the connection moves on (libs/application/src/events.service.ts
      // says why that is safe); until then it could not have: it waited behind the BLPOP.
      await unblock();
      await stuck;
      await eventually(async () => (await queued()) === before + 1, 5000, 'the late fan-out job');
      expect((await h.request('GET', '/v1/events/stuck-1', { token: apiKey })).status).toBe(200);
    } finally {
      await unblock();
      await push.stop();
    }
  });

  it('answers 503 with Retry-After while Redis is down, and 202 once it is back', async () => {
    await redis.stop();
    const res = await h.request('POST', '/v1/events', { token: apiKey, body: { topic: 'cal', changes: ['content'] } });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    await redis.restart();
    const ok = await eventually(
      async () => {
        const r = await h.request('POST', '/v1/events', {
          token: apiKey,
          body: { topic: 'cal', changes: ['content'] },
        });
        return r.status === 202 && r;
      },
      15_000,
      'the API to accept events again',
    );
    expect(ok.status).toBe(202);
  });
});
