import { createECDH, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '@davpush/config';
import type { ValidRegistration } from '@davpush/domain';
import { RedisServer } from '../../../test/support/redis-server';
import { KnownTopicStore } from './known-topic.store';
import { RedisService } from './redis.service';
import { RegistrationStore } from './registration.store';

const ecdh = createECDH('prime256v1');
ecdh.generateKeys();
const now = Date.now();

const reg = (resource: string, clientId?: string): ValidRegistration => ({
  subscription: {
    type: 'web-push',
    pushResource: resource,
    publicKey: ecdh.getPublicKey('base64url'),
    authSecret: randomBytes(16).toString('base64url'),
    contentEncoding: 'aes128gcm',
  },
  trigger: { contentUpdate: { depth: '1' } },
  expiresAt: now + 86400_000,
  ...(clientId ? { clientId } : {}),
});

/** What CC/CD 70025 adds to storage: known topics per tenant, and a client id on registrations. */
describe('CC/CD 70025 storage on real Redis', () => {
  let server: RedisServer;
  let redis: RedisService;
  let known: KnownTopicStore;
  let registrations: RegistrationStore;

  beforeAll(async () => {
    server = await RedisServer.start();
    redis = new RedisService(loadConfig({ REDIS_URL: server.url }));
    known = new KnownTopicStore(redis);
    registrations = new RegistrationStore(redis);
  });
  afterAll(async () => {
    await redis?.onApplicationShutdown();
    await server?.stop();
  });
  beforeEach(async () => {
    await redis.client.flushall();
  });

  it('remembers topics per tenant, by digest only, and forgets them with the tenant', async () => {
    await known.add('t1', ['cal-1', 'cal-2', 'cal-1']);
    expect(await known.unknown('t1', ['cal-2', 'x', 'cal-1'])).toEqual(['x']);
    expect(await known.unknown('t2', ['cal-1'])).toEqual(['cal-1']);
    const stored = (
      await Promise.all((await redis.client.keys('{known.t1.*}')).map((k) => redis.client.smembers(k)))
    ).flat();
    expect(stored).toHaveLength(2);
    expect(stored.join()).not.toContain('cal');
    await known.removeAllOfTenant('t1');
    expect(await known.unknown('t1', ['cal-1'])).toEqual(['cal-1']);
  });

  it('keeps a client id with a registration, replaces it on update, clears it when an update has none', async () => {
    const a = await registrations.upsert('t1', 'cal', reg('https://push.example/a', 'c1'), undefined, now);
    expect((await registrations.get(a.id, 't1', now))?.clientId).toBe('c1');
    expect((await registrations.liveTargets('t1', 'cal', 0, 10, now)).targets[0]?.clientId).toBe('c1');
    await registrations.upsert('t1', 'cal', reg('https://push.example/a', 'c2'), undefined, now);
    expect((await registrations.get(a.id, 't1', now))?.clientId).toBe('c2');
    await registrations.upsert('t1', 'cal', reg('https://push.example/a'), undefined, now);
    expect((await registrations.get(a.id, 't1', now))?.clientId).toBeUndefined();
    expect((await registrations.liveTargets('t1', 'cal', 0, 10, now)).targets[0]).not.toHaveProperty('clientId');
  });

  it('finds a registration by its subscription (unsubscribe)', async () => {
    const r = reg('https://push.example/b');
    const a = await registrations.upsert('t1', 'cal', r, undefined, now);
    expect(await registrations.idOf('t1', 'cal', r.subscription)).toBe(a.id);
    expect(await registrations.idOf('t1', 'other', r.subscription)).toBeUndefined();
    expect(await registrations.idOf('t2', 'cal', r.subscription)).toBeUndefined();
  });
});
