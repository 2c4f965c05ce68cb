import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../support/redis-server';
import { eventually, startHarness, type Harness } from './harness';

const COMMAND_TIMEOUT_MS = 1000;

/** With Redis gone or not answering, the API says so (503, Retry-After) instead of a bare 500 or a hang, and recovers by itself. */
describe('Redis outage at the front door', () => {
  let h: Harness;
  let redis: RedisServer;
  let apiKey: string;
  const thaw = () => {
    if (redis?.pid) process.kill(redis.pid, 'SIGCONT');
  };
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
    // SIGSTOP: the server lives and its socket stays open, but nothing answers (a hung Redis, a silent partition).
    process.kill(redis.pid!, 'SIGSTOP');
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
