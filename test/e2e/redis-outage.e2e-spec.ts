import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../support/redis-server';
import { eventually, startHarness, type Harness } from './harness';

/** With Redis gone, the API says so (503, Retry-After) instead of a bare 500, and recovers by itself. */
describe('Redis outage at the front door', () => {
  let h: Harness;
  let redis: RedisServer;
  let apiKey: string;
  beforeAll(async () => {
    redis = await RedisServer.start({ appendonly: true });
    h = await startHarness({}, { api: true, worker: false }, redis);
    ({ apiKey } = await h.createTenant());
  });
  afterAll(async () => {
    await h?.close();
    await redis?.stop();
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
