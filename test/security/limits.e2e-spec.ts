import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebPushClient } from '../support/webpush-client';
import { startHarness, type Harness } from '../e2e/harness';

/**
 * docs/security.md "Limits": no unbounded growth. Registration limits per topic and per principal, enforced
 * atomically in the upsert; a per-tenant ingest rate limit that refuses a flood with 429 while
 * other tenants are served.
 */
const PER_TOPIC = 5;
const PER_PRINCIPAL = 3;
const RATE = 50;

describe('limits', () => {
  let h: Harness;
  let redis: Redis;
  let key: string;

  beforeAll(async () => {
    h = await startHarness(
      {
        DAVPUSH_MAX_REGISTRATIONS_PER_TOPIC: String(PER_TOPIC),
        DAVPUSH_MAX_REGISTRATIONS_PER_PRINCIPAL: String(PER_PRINCIPAL),
        DAVPUSH_INGEST_RATE: String(RATE),
      },
      { api: true, worker: false },
    );
    ({ apiKey: key } = await h.createTenant('limited'));
    redis = new Redis({ path: h.redis.socketPath });
  });
  afterAll(async () => {
    redis?.disconnect();
    await h?.close();
  });

  const register = (
    topic: string,
    c = WebPushClient.create(`https://127.0.0.1:9/push/${Math.random().toString(36).slice(2)}`),
    principal?: string,
    token = key,
  ) =>
    h.request('POST', `/v1/topics/${topic}/registrations`, {
      token,
      body: {
        subscription: {
          type: 'web-push',
          pushResource: c.pushResource,
          publicKey: c.publicKey,
          authSecret: c.authSecret,
        },
      },
      headers: principal ? { 'x-davpush-principal': principal } : {},
    });

  describe('registrations', () => {
    it('per topic: new ones past the limit get 403 registration-limit; updates always pass', async () => {
      const clients = Array.from({ length: PER_TOPIC }, () =>
        WebPushClient.create(`https://127.0.0.1:9/push/${Math.random().toString(36).slice(2)}`),
      );
      for (const c of clients) expect((await register('full', c)).status).toBe(201);
      const refused = await register('full');
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({
        type: 'https://davpush.dev/problems/registration-limit',
        precondition: 'push-not-available',
        detail: expect.stringMatching(/topic.*5/),
      });
      const xml = await h.request('POST', '/v1/topics/full/registrations', {
        token: key,
        headers: { 'content-type': 'application/xml' },
        body: `<push-register xmlns="https://bitfire.at/webdav-push"><subscription><web-push-subscription><push-resource>https://127.0.0.1:9/push/x</push-resource><subscription-public-key type="p256dh">${clients[0]!.publicKey}</subscription-public-key><auth-secret>${clients[0]!.authSecret}</auth-secret></web-push-subscription></subscription></push-register>`,
      });
      expect(xml.status).toBe(403);
      expect(await xml.text()).toMatch(/<D:error[\s\S]*push-not-available/);
      expect((await register('full', clients[0])).status).toBe(204);
      expect((await register('other-topic')).status).toBe(201);
      // Room again once one is deleted.
      const again = await register('full', clients[1]);
      expect((await h.request('DELETE', again.headers.get('location')!)).status).toBe(204);
      expect((await register('full')).status).toBe(201);
    });

    it('per topic, under a race: 20 concurrent new registrations, exactly the limit succeed', async () => {
      const answers = await Promise.all(Array.from({ length: 20 }, () => register('raced')));
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(PER_TOPIC);
      expect(statuses.filter((s) => s === 403)).toHaveLength(20 - PER_TOPIC);
    });

    it('per principal (within a tenant): new ones past the limit get 403; other principals and tenants are not counted', async () => {
      const carol = Array.from({ length: PER_PRINCIPAL }, (_, i) => ({
        topic: `p-${i}`,
        c: WebPushClient.create(`https://127.0.0.1:9/push/carol-${i}`),
      }));
      for (const { topic, c } of carol) expect((await register(topic, c, 'carol')).status).toBe(201);
      const refused = await register('p-new', undefined, 'carol');
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { detail: string }).detail).toMatch(/principal.*3/);
      expect((await register(carol[0]!.topic, carol[0]!.c, 'carol')).status).toBe(204);
      expect((await register('p-new', undefined, 'dave')).status).toBe(201);
      expect((await register('p-new')).status).toBe(201);
      const other = await h.createTenant('other');
      expect((await register('p-new', undefined, 'carol', other.apiKey)).status).toBe(201);
    });
  });

  describe('ingest rate (token bucket, burst 2 × rate, counting events)', () => {
    const batch = (n: number, prefix: string) => ({
      events: Array.from({ length: n }, (_, i) => ({ topic: 'flood', changes: ['content'], id: `${prefix}-${i}` })),
    });
    const post = (token: string, body: unknown) => h.request('POST', '/v1/events', { token, body });

    it('refuses a flood with 429 and the rate-limit headers while another tenant is served; a refused batch queues nothing', async () => {
      const flooder = await h.createTenant('flooder');
      const neighbour = await h.createTenant('neighbour');
      const [flood, calm] = await Promise.all([
        Promise.all(Array.from({ length: 30 }, (_, i) => post(flooder.apiKey, batch(20, `f${i}`)))),
        Promise.all(Array.from({ length: 5 }, (_, i) => post(neighbour.apiKey, batch(10, `n${i}`)))),
      ]);
      expect(calm.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
      const accepted = flood.filter((r) => r.status === 202);
      const refused = flood.filter((r) => r.status === 429);
      expect(accepted.length + refused.length).toBe(30);
      // 100 tokens of burst + whatever refilled while the flood ran: far from all 600 events.
      expect(accepted.length).toBeGreaterThanOrEqual(5);
      expect(refused.length).toBeGreaterThanOrEqual(10);

      const r = refused[0]!;
      expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(r.headers.get('ratelimit-limit')).toBe(String(2 * RATE));
      const remaining = Number(r.headers.get('ratelimit-remaining'));
      expect(remaining).toBeGreaterThanOrEqual(0);
      expect(remaining).toBeLessThan(20);
      const retryAfter = Number(r.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(1); // 20 events at 50/s: under a second, rounded up
      expect(r.headers.get('ratelimit-reset')).toBe(String(retryAfter));
      for (const ok of accepted) {
        expect(ok.headers.get('ratelimit-limit')).toBe('100');
        expect(Number(ok.headers.get('ratelimit-remaining'))).toBeLessThanOrEqual(80);
      }

      // Exactly the accepted events were stored; a refused batch left no trace.
      const stored = await redis.keys(`davpush:event:${flooder.id}:*`);
      expect(stored).toHaveLength(accepted.length * 20);
      const refusedIndex = flood.findIndex((x) => x.status === 429);
      expect((await h.request('GET', `/v1/events/f${refusedIndex}-0`, { token: flooder.apiKey })).status).toBe(404);

      // After Retry-After, the tenant is served again.
      await new Promise((res) => setTimeout(res, retryAfter * 1000 + 100));
      expect((await post(flooder.apiKey, batch(20, 'later'))).status).toBe(202);
    });

    it('a batch larger than the burst could never pass: 413, not a 429 to retry for ever', async () => {
      const t = await h.createTenant('big-batch');
      const res = await post(t.apiKey, batch(2 * RATE + 1, 'big'));
      expect(res.status).toBe(413);
      expect(res.headers.get('ratelimit-limit')).toBe('100');
      expect((await post(t.apiKey, batch(2 * RATE, 'whole-burst'))).status).toBe(202);
    });

    it('an invalid batch costs nothing', async () => {
      const t = await h.createTenant('sloppy');
      const first = await post(t.apiKey, batch(60, 'a'));
      const before = Number(first.headers.get('ratelimit-remaining'));
      expect(before).toBe(40);
      for (let i = 0; i < 5; i++)
        expect(
          (await post(t.apiKey, { events: [{ topic: 'x', changes: ['nonsense'] }, ...batch(50, 'b').events] })).status,
        ).toBe(400);
      const next = await post(t.apiKey, batch(1, 'c'));
      expect(Number(next.headers.get('ratelimit-remaining'))).toBeGreaterThanOrEqual(before - 1);
    });
  });
});
