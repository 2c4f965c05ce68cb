import { createECDH, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '@davpush/config';
import type { ValidRegistration } from '@davpush/domain';
import { RateLimitStore, RedisService, RegistrationStore, TenantStore } from '@davpush/storage';
import { RedisServer } from '../support/redis-server';

/**
 * The storage half of docs/security.md on real Redis: registration limits and principal checks inside the
 * Lua steps, index hygiene, tenant key rotation/revocation/removal, and the token bucket's arithmetic.
 */
const ecdh = createECDH('prime256v1');
ecdh.generateKeys();
const now = Date.now();
const day = 86400_000;
const reg = (resource: string, expiresAt = now + day): ValidRegistration => ({
  subscription: {
    type: 'web-push',
    pushResource: resource,
    publicKey: ecdh.getPublicKey('base64url'),
    authSecret: randomBytes(16).toString('base64url'),
    contentEncoding: 'aes128gcm',
  },
  trigger: { contentUpdate: { depth: '1' } },
  expiresAt,
});

describe('storage on real Redis (docs/security.md)', () => {
  let server: RedisServer;
  let redis: RedisService;
  let registrations: RegistrationStore;
  let tenants: TenantStore;
  let buckets: RateLimitStore;

  beforeAll(async () => {
    server = await RedisServer.start();
    redis = new RedisService(loadConfig({ REDIS_URL: server.url }));
    registrations = new RegistrationStore(redis);
    tenants = new TenantStore(redis);
    buckets = new RateLimitStore(redis);
  });
  afterAll(async () => {
    await redis?.onApplicationShutdown();
    await server?.stop();
  });
  beforeEach(async () => {
    await redis.client.flushall();
  });

  describe('RegistrationStore limits', () => {
    const limits = { perTopic: 2, perPrincipal: 2 };

    it('refuses the new registration past the topic limit, counts only live ones, always allows updates', async () => {
      const a = await registrations.upsert('t1', 'cal', reg('https://p.example/a'), undefined, now, limits);
      await registrations.upsert('t1', 'cal', reg('https://p.example/b', now + 1000), undefined, now, limits);
      expect(await registrations.upsert('t1', 'cal', reg('https://p.example/c'), undefined, now, limits)).toEqual({
        status: 'limit-topic',
        id: '',
      });
      expect(
        (await registrations.upsert('t1', 'cal', reg('https://p.example/a', now + 2 * day), undefined, now, limits))
          .status,
      ).toBe('updated');
      expect((await registrations.upsert('t2', 'cal', reg('https://p.example/c'), undefined, now, limits)).status).toBe(
        'created',
      );
      // Once b has expired, its slot is free again (before any sweep).
      expect(
        (await registrations.upsert('t1', 'cal', reg('https://p.example/c'), undefined, now + 2000, limits)).status,
      ).toBe('created');
      expect(await registrations.get(a.id, 't1', now)).toBeDefined();
      expect(
        (await Promise.all((await redis.client.keys('{*}:r')).map((k) => redis.client.hlen(k)))).reduce(
          (sum, n) => sum + n,
          0,
        ),
      ).toBe(4);
    });

    it('refuses past the principal limit across topics of one tenant, not across tenants or principals', async () => {
      await registrations.upsert('t1', 'a', reg('https://p.example/1'), 'alice', now, limits);
      await registrations.upsert('t1', 'b', reg('https://p.example/2'), 'alice', now, limits);
      expect((await registrations.upsert('t1', 'c', reg('https://p.example/3'), 'alice', now, limits)).status).toBe(
        'limit-principal',
      );
      expect((await registrations.upsert('t1', 'c', reg('https://p.example/3'), 'bob', now, limits)).status).toBe(
        'created',
      );
      expect((await registrations.upsert('t2', 'c', reg('https://p.example/3'), 'alice', now, limits)).status).toBe(
        'created',
      );
      expect(
        (await registrations.upsert('t1', 'a', reg('https://p.example/1', now + 2 * day), 'alice', now, limits)).status,
      ).toBe('updated');
    });

    it('never lets a race pass the limit', async () => {
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          registrations.upsert('t1', 'raced', reg(`https://p.example/${i}`), undefined, now, limits),
        ),
      );
      expect(results.filter((r) => r.status === 'created')).toHaveLength(2);
    });
  });

  describe('RegistrationStore principals and indexes', () => {
    it('strict removal needs the bound principal; lenient removal refuses only a different one', async () => {
      const { id } = await registrations.upsert('t1', 'cal', reg('https://p.example/a'), 'alice', now);
      expect(await registrations.remove(id, { tenantId: 't1', strictPrincipal: true }, now)).toBe('forbidden');
      expect(await registrations.remove(id, { principal: 'bob' }, now)).toBe('forbidden');
      expect(await registrations.remove(id, { tenantId: 't2', principal: 'alice', strictPrincipal: true }, now)).toBe(
        'not-found',
      );
      expect(await registrations.remove(id, { tenantId: 't1', principal: 'alice', strictPrincipal: true }, now)).toBe(
        'removed',
      );
      const unbound = await registrations.upsert('t1', 'cal', reg('https://p.example/b'), undefined, now);
      expect(
        await registrations.remove(unbound.id, { tenantId: 't1', principal: 'anyone', strictPrincipal: true }, now),
      ).toBe('removed');
    });

    it('leaves no index entry behind: removal, sweep, replacement of an expired one', async () => {
      const a = await registrations.upsert('t1', 'cal', reg('https://p.example/a'), 'alice', now);
      await registrations.upsert('t1', 'cal', reg('https://p.example/b', now + 1000), 'alice', now);
      await registrations.remove(a.id, {}, now);
      expect(await registrations.sweepExpired(now + 2000)).toBe(1);
      // Expired but unswept, then registered again: the old one's entries go with it.
      await registrations.upsert('t1', 'cal', reg('https://p.example/c', now + 1000), 'alice', now);
      const c2 = await registrations.upsert('t1', 'cal', reg('https://p.example/c'), 'alice', now + 2000);
      await registrations.remove(c2.id, {}, now + 2000);
      expect(await redis.client.keys('*')).toEqual([]);
    });

    it('removes every registration of one tenant, and only those', async () => {
      for (let i = 0; i < 7; i++)
        await registrations.upsert(
          't1',
          `topic-${i % 3}`,
          reg(`https://p.example/${i}`),
          i % 2 ? 'alice' : undefined,
          now,
        );
      const other = await registrations.upsert('t2', 'topic-0', reg('https://p.example/0'), undefined, now);
      expect(await registrations.removeAllOfTenant('t1', now, 2)).toBe(7);
      expect(await registrations.get(other.id, 't2', now)).toBeDefined();
      expect((await redis.client.keys('*')).filter((k) => k.includes('t1'))).toEqual([]);
    });
  });

  describe('TenantStore', () => {
    it('rotates atomically: only the newest key authenticates, and no index entry is left for old keys', async () => {
      const t = await tenants.create('x');
      const rotated = await Promise.all(Array.from({ length: 5 }, () => tenants.rotateKey(t.id)));
      const keys = [t.apiKey, ...rotated.map((r) => (r.status === 'rotated' ? r.apiKey : ''))];
      const ok = await Promise.all(keys.map((k) => tenants.authenticate(k)));
      expect(ok.filter((id) => id === t.id)).toHaveLength(1);
      expect(await redis.client.keys('{davpush}:apikey:*')).toHaveLength(1);
      expect(await tenants.rotateKey('0'.repeat(24))).toEqual({ status: 'not-found' });
    });

    it('revokes for good and forgets completely', async () => {
      const t = await tenants.create('x');
      const revoked = await tenants.revoke(t.id);
      expect(revoked?.revokedAt).toMatch(/^\d{4}-/);
      expect(await tenants.authenticate(t.apiKey)).toBeUndefined();
      expect(await tenants.rotateKey(t.id)).toEqual({ status: 'revoked' });
      expect(await tenants.revoke(t.id)).toEqual(revoked);
      expect(await tenants.forget(t.id)).toBe(true);
      expect(await tenants.get(t.id)).toBeUndefined();
      expect(await redis.client.keys('*')).toEqual([]);
    });

    it('refuses keys that are not ours before touching Redis', async () => {
      for (const k of ['', 'dpk_', `dpk_${'a'.repeat(200)}`, 'Bearer dpk_x', 'x'.repeat(43)])
        expect(await tenants.authenticate(k)).toBeUndefined();
    });
  });

  describe('RateLimitStore (token bucket)', () => {
    const bucket = { rate: 10, burst: 20 };

    it('starts full, spends, refuses a batch that does not fit whole, refills at the rate', async () => {
      expect(await buckets.take('t', 15, bucket, now)).toEqual({ allowed: true, remaining: 5, resetSeconds: 2 });
      expect(await buckets.take('t', 6, bucket, now)).toEqual({ allowed: false, remaining: 5, resetSeconds: 1 });
      expect(await buckets.take('t', 5, bucket, now)).toEqual({ allowed: true, remaining: 0, resetSeconds: 2 });
      expect(await buckets.take('t', 1, bucket, now + 50)).toMatchObject({ allowed: false, resetSeconds: 1 });
      expect(await buckets.take('t', 10, bucket, now + 1000)).toMatchObject({ allowed: true, remaining: 0 });
      expect(await buckets.take('t', 20, bucket, now + 10_000)).toMatchObject({ allowed: true, remaining: 0 });
      // Never more than the burst, however long the pause.
      expect(await buckets.take('t', 21, bucket, now + 1_000_000)).toMatchObject({ allowed: false, remaining: 20 });
    });

    it('keeps tenants apart and lets Redis forget a bucket once it would be full', async () => {
      await buckets.take('a', 20, bucket, now);
      expect(await buckets.take('b', 20, bucket, now)).toMatchObject({ allowed: true });
      const ttl = await redis.client.pttl('{rate.a}');
      expect(ttl).toBeGreaterThan(2000);
      expect(ttl).toBeLessThanOrEqual(3000);
    });

    it("uses Redis' clock when given none", async () => {
      expect(await buckets.take('c', 1, bucket)).toMatchObject({ allowed: true, remaining: 19 });
    });
  });
});
