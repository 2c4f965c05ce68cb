import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakePushService } from '../support/fake-push-service';
import { ADMIN_TOKEN, startHarness, type Harness } from '../e2e/harness';
import { idOf, registrationKeysOf, snapshot, tenantPatterns } from './support';

/** docs/security.md "Tenant keys: rotate, revoke, delete": rotating, revoking and deleting a tenant's key, through the admin API. */
describe('tenant keys: rotate, revoke, delete', () => {
  let h: Harness;
  let push: FakePushService;
  let redis: Redis;

  beforeAll(async () => {
    h = await startHarness();
    push = await FakePushService.start();
    redis = new Redis({ path: h.redis.socketPath });
  });
  afterAll(async () => {
    redis?.disconnect();
    await push?.stop();
    await h?.close();
  });

  const admin = (method: string, path: string) => h.request(method, path, { token: ADMIN_TOKEN });
  const works = async (key: string) => (await h.request('GET', '/v1/discovery?topic=t', { token: key })).status === 200;
  const register = (key: string, topic = 'cal') => {
    const c = push.subscribe();
    return h.request('POST', `/v1/topics/${topic}/registrations`, {
      token: key,
      body: {
        subscription: {
          type: 'web-push',
          pushResource: c.pushResource,
          publicKey: c.publicKey,
          authSecret: c.authSecret,
        },
      },
    });
  };
  /** Every string and hash value in Redis, to prove a key is never stored in plaintext. */
  const everythingStored = async () => [...(await snapshot(redis, ['*'])).values()].join('\n');

  it('rotate-key: the new key is shown once and works; the old one fails with the very next request', async () => {
    const t = await h.createTenant('rotating');
    expect(await works(t.apiKey)).toBe(true);
    const res = await admin('POST', `/v1/tenants/${t.id}/rotate-key`);
    expect(res.status).toBe(200);
    const { id, apiKey } = (await res.json()) as { id: string; apiKey: string };
    expect(id).toBe(t.id);
    expect(apiKey).toMatch(/^dpk_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).not.toBe(t.apiKey);
    expect(await works(t.apiKey)).toBe(false);
    expect(await works(apiKey)).toBe(true);
    const stored = await everythingStored();
    expect(stored).not.toContain(apiKey);
    expect(stored).not.toContain(t.apiKey);
    expect(await (await admin('GET', '/v1/tenants')).text()).not.toContain('dpk_');
  });

  it('concurrent rotations leave exactly one working key', async () => {
    const t = await h.createTenant('raced');
    const answers = await Promise.all(Array.from({ length: 6 }, () => admin('POST', `/v1/tenants/${t.id}/rotate-key`)));
    const keys = await Promise.all(answers.map(async (r) => ((await r.json()) as { apiKey: string }).apiKey));
    const working = (await Promise.all([t.apiKey, ...keys].map(works))).filter(Boolean);
    expect(working).toHaveLength(1);
    const indexed = await Promise.all((await redis.keys('{davpush}:apikey:*')).map((k) => redis.get(k)));
    expect(indexed.filter((v) => v === t.id)).toHaveLength(1);
  });

  it('revoke: the key stops at once, registrations stay (removable by their URL), the tenant shows revokedAt', async () => {
    const t = await h.createTenant('leaving');
    const r1 = await register(t.apiKey);
    const r2 = await register(t.apiKey, 'other');
    expect([r1.status, r2.status]).toEqual([201, 201]);
    const res = await admin('POST', `/v1/tenants/${t.id}/revoke`);
    expect(res.status).toBe(200);
    const revoked = (await res.json()) as { id: string; revokedAt: string };
    expect(revoked).toMatchObject({ id: t.id, name: 'leaving' });
    expect(Date.parse(revoked.revokedAt)).toBeGreaterThan(Date.now() - 60_000);

    expect(await works(t.apiKey)).toBe(false);
    for (const [method, path] of [
      ['POST', '/v1/events'],
      ['GET', `/v1/registrations/${idOf(r1.headers.get('location'))}`],
      ['POST', '/v1/topics/cal/registrations'],
    ] as const) {
      expect(
        (await h.request(method, path, { token: t.apiKey, body: method === 'POST' ? {} : undefined })).status,
      ).toBe(401);
    }
    // Still stored: a field of its topic's hash, named by the id's identity part (libs/storage/src/registration-id.ts).
    const kept = idOf(r1.headers.get('location'));
    expect(await redis.hexists(`{${kept.slice(0, 20)}}:r`, Buffer.from(kept.slice(20, 36), 'base64url'))).toBe(1);
    expect((await h.request('DELETE', r1.headers.get('location')!)).status).toBe(204);

    const listed = (await (await admin('GET', '/v1/tenants')).json()) as { id: string; revokedAt?: string }[];
    expect(listed.find((x) => x.id === t.id)?.revokedAt).toBe(revoked.revokedAt);
    // Idempotent, and final: no new key for a revoked tenant.
    expect(await (await admin('POST', `/v1/tenants/${t.id}/revoke`)).json()).toEqual(revoked);
    expect((await admin('POST', `/v1/tenants/${t.id}/rotate-key`)).status).toBe(409);
  });

  it('delete: revokes, removes every registration of the tenant and the tenant itself; others untouched', async () => {
    const t = await h.createTenant('deleted');
    const other = await h.createTenant('kept');
    const mine = await Promise.all([register(t.apiKey), register(t.apiKey), register(t.apiKey, 'x')]);
    const theirs = await register(other.apiKey);
    const before = await snapshot(redis, [
      ...tenantPatterns(other.id),
      ...registrationKeysOf(idOf(theirs.headers.get('location'))),
    ]);

    const res = await admin('DELETE', `/v1/tenants/${t.id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: t.id, registrationsRemoved: 3 });
    expect(await works(t.apiKey)).toBe(false);
    for (const r of mine) expect(await redis.exists(...registrationKeysOf(idOf(r.headers.get('location'))))).toBe(0);
    const left = [...(await snapshot(redis, tenantPatterns(t.id))).keys()];
    // Only what expires by itself within 24 h is left: events and idempotency records (the rate bucket goes with the tenant).
    expect(left.filter((k) => !/^davpush:(event|idem):/.test(k))).toEqual([]);
    expect(((await (await admin('GET', '/v1/tenants')).json()) as { id: string }[]).map((x) => x.id)).not.toContain(
      t.id,
    );
    expect((await admin('GET', `/v1/tenants/${t.id}`)).status).toBe(404);
    expect((await admin('DELETE', `/v1/tenants/${t.id}`)).status).toBe(404);
    expect(
      await snapshot(redis, [...tenantPatterns(other.id), ...registrationKeysOf(idOf(theirs.headers.get('location')))]),
    ).toEqual(before);
    expect(await works(other.apiKey)).toBe(true);
  });

  it.each([
    ['POST', 'rotate-key'],
    ['POST', 'revoke'],
    ['DELETE', ''],
    ['GET', ''],
  ])(
    '%s /v1/tenants/{id}/%s answers 404 for unknown and malformed ids, 401 without the admin token',
    async (method, action) => {
      for (const id of ['0123456789abcdef01234567', '..%2F..%2Fadmin', 'x'.repeat(5000), '%00']) {
        expect((await admin(method, `/v1/tenants/${id}${action ? `/${action}` : ''}`)).status).toBe(404);
      }
      const t = await h.createTenant('guarded');
      for (const token of [undefined, t.apiKey, `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(0, -1)]) {
        expect((await h.request(method, `/v1/tenants/${t.id}${action ? `/${action}` : ''}`, { token })).status).toBe(
          401,
        );
      }
      expect(await works(t.apiKey)).toBe(true);
    },
  );
});
