import { createECDH, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '@davpush/config';
import type { ValidRegistration } from '@davpush/domain';
import { RedisServer } from '../../../test/support/redis-server';
import { DispatchStore } from './dispatch.store';
import { dispatchKeys, topicKeys, topicTag } from './keys';
import { dispatchIdFor, parseRegistrationId } from './registration-id';
import { RedisService } from './redis.service';
import { RegistrationStore } from './registration.store';

const ecdh = createECDH('prime256v1');
ecdh.generateKeys();
const now = Date.now();

const reg = (resource: string, expiresAt = now + 86400_000): ValidRegistration => ({
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

describe('RegistrationStore on real Redis', () => {
  let server: RedisServer;
  let redis: RedisService;
  let sut: RegistrationStore;
  let dispatches: DispatchStore;

  beforeAll(async () => {
    server = await RedisServer.start();
    redis = new RedisService(loadConfig({ REDIS_URL: server.url }));
    sut = new RegistrationStore(redis);
    dispatches = new DispatchStore(redis, sut, loadConfig({ REDIS_URL: server.url }));
  });
  afterAll(async () => {
    await redis?.onApplicationShutdown();
    await server?.stop();
  });
  beforeEach(async () => {
    await redis.client.flushall();
  });

  it('creates, then updates the same push resource on the same topic', async () => {
    const a = await sut.upsert('t1', 'cal', reg('https://push.example/a'), undefined, now);
    const b = await sut.upsert('t1', 'cal', reg('https://push.example/a', now + 2 * 86400_000), undefined, now);
    expect(a.status).toBe('created');
    expect(b).toEqual({ status: 'updated', id: a.id });
    expect((await sut.get(a.id, 't1', now))?.expiresAt).toBe(now + 2 * 86400_000);
    expect(await sut.countLive('t1', 'cal', now)).toBe(1);
  });

  it('keeps topics and tenants apart', async () => {
    const a = await sut.upsert('t1', 'cal', reg('https://push.example/a'), undefined, now);
    const b = await sut.upsert('t1', 'other', reg('https://push.example/a'), undefined, now);
    const c = await sut.upsert('t2', 'cal', reg('https://push.example/a'), undefined, now);
    expect(new Set([a.id, b.id, c.id]).size).toBe(3);
    expect(await sut.get(a.id, 't2', now)).toBeUndefined();
    expect(await sut.remove(a.id, { tenantId: 't2' }, now)).toBe('not-found');
    expect(await sut.get(a.id, 't1', now)).toBeDefined();
  });

  it('issues ids of at least 128 random bits', async () => {
    const { id } = await sut.upsert('t1', 'cal', reg('https://push.example/a'), undefined, now);
    expect(Buffer.from(id, 'base64url').length).toBeGreaterThanOrEqual(16);
  });

  it('lists only live targets, and never an expired one', async () => {
    await sut.upsert('t1', 'cal', reg('https://push.example/live'), undefined, now);
    const old = await sut.upsert('t1', 'cal', reg('https://push.example/old', now + 1000), undefined, now);
    const later = now + 5000;
    const { targets } = await sut.liveTargets('t1', 'cal', 0, 100, later);
    expect(targets.map((t) => t.id)).not.toContain(old.id);
    expect(targets).toHaveLength(1);
    expect(await sut.get(old.id, 't1', later)).toBeUndefined();
    expect(await sut.sweepExpired(later)).toBe(1);
    expect(
      await redis.client.hexists(
        topicKeys(parseRegistrationId(old.id)!.tag).registrations,
        parseRegistrationId(old.id)!.identity,
      ),
    ).toBe(0);
  });

  it("pages a dispatch's fixed list: a removal meanwhile skips nobody, a renewal is met once, a re-run sees the same list", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++)
      ids.push(
        (await sut.upsert('t1', 'cal', reg(`https://push.example/${i}`, now + 86400_000 + i * 1000), undefined, now))
          .id,
      );
    const d1 = dispatchIdFor('t1', 'cal', 'd1');
    const pending = topicKeys(topicTag('t1', 'cal')).pending;
    await redis.client.rpush(pending, JSON.stringify({ id: 'e1', tenantId: 't1', topic: 'cal' }));
    const started = await dispatches.claimAndList('t1', 'cal', d1, now, 0, 2);
    expect(started.listed).toBe(6);
    const first = started.first;
    expect(first.targets.map((t) => t.id)).toEqual(ids.slice(0, 2));
    await sut.remove(ids[0]!, {}, now); // offsets of the live index shift…
    await sut.upsert('t1', 'cal', reg('https://push.example/2', now + 9 * 86400_000), undefined, now); // …and this one moves to the end
    const seen = first.targets.map((t) => t.id);
    for (let cursor = 2; cursor < 6; cursor += 2) {
      const page = await dispatches.targetsPage(d1, cursor, 2);
      expect(page.read).toBe(2);
      expect(page.vanished).toEqual([]);
      seen.push(...page.targets.map((t) => t.id));
    }
    expect(seen).toEqual(ids);
    // Paged again (a re-run), the removed one is named as vanished rather than silently left out.
    expect(await dispatches.targetsPage(d1, 0, 2)).toMatchObject({ read: 2, vanished: [ids[0]!.slice(0, 36)] });
    // Run again (after a crash): the same list, not a new one.
    expect((await dispatches.claimAndList('t1', 'cal', d1, now, 0, 2)).listed).toBe(6);
    // Complete: the list goes in the same step; the next dispatch lists who is live then.
    await dispatches.recordProgress(d1, started.events, { queued: 6, skipped: 0, complete: true });
    expect(await redis.client.exists(dispatchKeys(d1).targets)).toBe(0);
    await redis.client.rpush(pending, JSON.stringify({ id: 'e2', tenantId: 't1', topic: 'cal' }));
    expect((await dispatches.claimAndList('t1', 'cal', dispatchIdFor('t1', 'cal', 'd2'), now, 0, 2)).listed).toBe(5);
  });

  it("claims a topic's pending events, fixes its list and reads the first page in one step; a re-run gets the same; a finished one says complete", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        (await sut.upsert('t1', 'cal', reg(`https://push.example/${i}`, now + 86400_000 + i * 1000), undefined, now))
          .id,
      );
    await sut.upsert('t1', 'cal', reg('https://push.example/expired', now - 1), undefined, now - 86400_000);
    const d1 = dispatchIdFor('t1', 'cal', 'd1');
    const pending = topicKeys(topicTag('t1', 'cal')).pending;
    expect(await dispatches.claimAndList('t1', 'cal', d1, now, 0, 2)).toMatchObject({ events: [], listed: 0 });
    await redis.client.rpush(
      pending,
      JSON.stringify({ id: 'e1', tenantId: 't1', topic: 'cal' }),
      JSON.stringify({ id: 'e2', tenantId: 't1', topic: 'cal' }),
    );
    const started = await dispatches.claimAndList('t1', 'cal', d1, now, 1000, 2);
    expect(started.events.map((e) => e.id)).toEqual(['e1', 'e2']);
    expect(started).toMatchObject({ complete: false, listed: 3, first: { read: 2, vanished: [] } });
    expect(started.first.targets.map((t) => t.id)).toEqual(ids.slice(0, 2));
    // Each with its whole registration, as a delivery inside the fan-out job sends it.
    expect(started.first.targets[1]!.registration).toEqual(await sut.get(ids[1]!, 't1', now));
    expect(await redis.client.exists(pending)).toBe(0);
    expect(await redis.client.pttl(topicKeys(topicTag('t1', 'cal')).window)).toBeGreaterThan(0);
    // A re-run (the worker died): the same events and list, even after a removal (named as vanished).
    await sut.remove(ids[0]!, {}, now);
    const again = await dispatches.claimAndList('t1', 'cal', d1, now, 1000, 2);
    expect(again).toMatchObject({
      events: started.events,
      listed: 3,
      first: { read: 2, vanished: [ids[0]!.slice(0, 36)] },
    });
    expect((await dispatches.targetsPage(d1, 2, 2)).targets.map((t) => t.id)).toEqual([ids[2]]);
    await dispatches.recordProgress(d1, started.events, { queued: 2, skipped: 0, complete: true });
    expect(await dispatches.claimAndList('t1', 'cal', d1, now, 1000, 2)).toMatchObject({ complete: true, listed: 0 });
  });

  it('reads many registrations of a topic at once, in order, each only if live, of the tenant and with its secret', async () => {
    const a = await sut.upsert('t1', 'cal', reg('https://push.example/a'), undefined, now);
    const b = await sut.upsert('t1', 'cal', reg('https://push.example/b', now + 1000), undefined, now);
    const other = await sut.upsert('t1', 'other', reg('https://push.example/c'), undefined, now);
    const forged = `${a.id.slice(0, -4)}AAAA`;
    const got = await sut.getMany([b.id, 'not-an-id', a.id, forged, other.id], 't1', now);
    expect(got.map((r) => r?.id)).toEqual([b.id, undefined, a.id, undefined, other.id]);
    expect(got[0]).toMatchObject({ tenantId: 't1', topic: 'cal', expiresAt: now + 1000 });
    expect(await sut.getMany([a.id, b.id], 't1', now + 2000)).toEqual([
      expect.objectContaining({ id: a.id }),
      undefined,
    ]);
    expect(await sut.getMany([a.id], 't2', now)).toEqual([undefined]);
  });

  it('removes everything of a registration and answers not-found the second time', async () => {
    const { id } = await sut.upsert('t1', 'cal', reg('https://push.example/a'), undefined, now);
    expect(await sut.remove(id, {}, now)).toBe('removed');
    expect(await sut.remove(id, {}, now)).toBe('not-found');
    const keys = await redis.client.keys('*');
    expect(keys).toEqual([]);
  });

  it('binds a registration to its principal', async () => {
    const { id } = await sut.upsert('t1', 'cal', reg('https://push.example/a'), 'alice', now);
    expect((await sut.upsert('t1', 'cal', reg('https://push.example/a'), 'mallory', now)).status).toBe('forbidden');
    expect(await sut.remove(id, { principal: 'mallory' }, now)).toBe('forbidden');
    expect(await sut.remove(id, { principal: 'alice' }, now)).toBe('removed');
  });

  it('records successes and consecutive failures', async () => {
    const { id } = await sut.upsert('t1', 'cal', reg('https://push.example/a'), undefined, now);
    await sut.recordDelivery(id, 'failure', now);
    expect((await sut.recordDelivery(id, 'failure', now))?.consecutiveFailures).toBe(2);
    expect(await sut.recordDelivery(id, 'success', now + 1)).toMatchObject({
      consecutiveFailures: 0,
      lastSuccessAt: now + 1,
    });
    await sut.remove(id);
    expect(await sut.recordDelivery(id, 'failure', now)).toBeUndefined();
    expect(await redis.client.exists(topicKeys(parseRegistrationId(id)!.tag).registrations)).toBe(0);
  });
});
