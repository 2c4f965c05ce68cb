import { createECDH, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@davpush/config';
import type { ValidRegistration } from '@davpush/domain';
import { RedisServer } from '../../../test/support/redis-server';
import { topicKeys, topicTag } from './keys';
import { RedisService } from './redis.service';
import { parseRegistrationId } from './registration-id';
import { RegistrationStore } from './registration.store';

/** How many registrations the figure is measured over (REG_MEMORY_N overrides; the figure uses 100k). */
const N = Number(process.env['REG_MEMORY_N'] ?? 10_000);

const ecdh = createECDH('prime256v1');
ecdh.generateKeys();
const now = Date.now();

/** A typical Web Push registration: a ~150 B endpoint (FCM-style Web Push URL), p256dh, auth, one trigger. */
const reg = (i: number): ValidRegistration => ({
  subscription: {
    type: 'web-push',
    pushResource:
      `https://fcm.googleapis.com/fcm/send/${randomBytes(12).toString('base64url')}:APA91b${randomBytes(80).toString('base64url')}${i}`.slice(
        0,
        152,
      ),
    publicKey: ecdh.getPublicKey('base64url'),
    authSecret: randomBytes(16).toString('base64url'),
    contentEncoding: 'aes128gcm',
  },
  trigger: { contentUpdate: { depth: '1' } },
  expiresAt: now + 7 * 86400_000,
});

const usedMemory = async (redis: RedisService): Promise<number> =>
  Number(/used_memory:(\d+)/.exec(await redis.client.info('memory'))![1]);

describe('Redis memory per registration (real redis-server, INFO used_memory delta)', () => {
  let server: RedisServer;
  let redis: RedisService;
  let sut: RegistrationStore;

  beforeAll(async () => {
    server = await RedisServer.start();
    redis = new RedisService(loadConfig({ REDIS_URL: server.url }));
    sut = new RegistrationStore(redis);
  });
  afterAll(async () => {
    await redis?.onApplicationShutdown();
    await server?.stop();
  });

  /** Bytes per registration of N registrations spread over `topics` topics of one tenant. */
  const measure = async (topics: number): Promise<number> => {
    await redis.client.flushall();
    await sut.upsert('warm', 'up', reg(-1), undefined, now);
    const before = await usedMemory(redis);
    for (let i = 0; i < N; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, N - i) }, (_, j) =>
          sut.upsert(
            'tenant0123456789abcdef',
            topics === 1 ? 'calendar-home' : `calendar-${(i + j) % topics}`,
            reg(i + j),
            undefined,
            now,
          ),
        ),
      );
    }
    const perRegistration = Math.round(((await usedMemory(redis)) - before) / N);
    process.stdout.write(
      `Redis per registration: ${perRegistration} B over ${N} registrations on ${topics} topic(s)\n`,
    );
    return perRegistration;
  };

  it(`${N} registrations on ${N / 10} topics (10 each)`, async () => {
    // Measured 752 B at 10k, 741 B at 100k with a hash per registration and a global expiry index
    // (README "Registration storage"); the bound is the target of a typical Web Push registration.
    expect(await measure(N / 10)).toBeLessThanOrEqual(500);
  }, 300_000);

  it(`${N} registrations on one topic`, async () => {
    const perRegistration = await measure(1);
    expect(await sut.countLive('tenant0123456789abcdef', 'calendar-home', now)).toBe(N);
    const k = topicKeys(topicTag('tenant0123456789abcdef', 'calendar-home'));
    for (const key of await redis.client.keys('*')) {
      const usage = Number(await redis.client.memory('USAGE', key, 'SAMPLES', '0'));
      if (usage > N)
        process.stdout.write(
          `${key === k.registrations ? 'records' : key === k.expiry ? 'expiry index' : key}: ${Math.round(usage / N)} B per registration\n`,
        );
    }
    // Measured 879 B at 10k, 853 B at 100k with a hash per registration (2,345 B with the JSON hash and four index entries).
    expect(perRegistration).toBeLessThanOrEqual(500);
  }, 300_000);

  it('an update that packs shorter leaves nothing of the old record behind', async () => {
    await redis.client.flushall();
    const props = Array.from({ length: 20 }, (_, i) => `{urn:example}property-${i}`);
    const long = { ...reg(1), trigger: { propertyUpdate: { depth: '0' as const, props } } };
    const { id } = await sut.upsert('t', 'cal', long, undefined, now);
    const ref = parseRegistrationId(id)!;
    const field = async () => redis.client.hstrlen(topicKeys(ref.tag).registrations, ref.identity);
    const before = await field();
    const short = { ...long, trigger: { contentUpdate: { depth: '1' as const } } };
    expect((await sut.upsert('t', 'cal', short, undefined, now)).status).toBe('updated');
    expect(await field()).toBeLessThan(before - 5 * 64);
    expect((await sut.get(id, 't', now))?.trigger).toEqual(short.trigger);
    expect((await sut.liveTargets('t', 'cal', 0, 10, now)).targets[0]?.subscription).toEqual(long.subscription);
  });
});
