import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '@davpush/config';
import { RedisServer } from '../../../test/support/redis-server';
import { ProxyStateStore } from './proxy-state.store';
import { RedisService } from './redis.service';

describe('ProxyStateStore on real Redis', () => {
  let server: RedisServer;
  let redis: RedisService;
  let sut: ProxyStateStore;
  const up = 'http://127.0.0.1:5232';

  beforeAll(async () => {
    server = await RedisServer.start();
    redis = new RedisService(loadConfig({ REDIS_URL: server.url }));
    sut = new ProxyStateStore(redis);
  });
  afterAll(async () => {
    await redis?.onApplicationShutdown();
    await server?.stop();
  });
  beforeEach(async () => {
    await redis.client.flushall();
  });

  it('records one tenant per upstream: two processes starting together agree, and only the first creates', async () => {
    let created = 0;
    const create = async () => `tenant-${++created}`;
    const [a, b] = await Promise.all([sut.tenant(up, create), sut.tenant(up, create)]);
    expect(a.id).toBe(b.id);
    expect([a.created, b.created].filter(Boolean)).toHaveLength(1);
    // Both may have created one; the one not recorded is handed back to be dropped.
    expect([a.lost, b.lost].filter(Boolean)).toHaveLength(created - 1);
    expect((await sut.tenant(up, create)).id).toBe(a.id);
    expect((await sut.tenant('http://other', create)).id).not.toBe(a.id);
    await sut.forgetTenant(up, 'someone-else');
    expect((await sut.tenant(up, create)).id).toBe(a.id);
    await sut.forgetTenant(up, a.id);
    expect((await sut.tenant(up, async () => 'fresh')).id).toBe('fresh');
  });

  it('swaps tokens: a token is new once, and says which it replaced; a baseline never overwrites', async () => {
    expect(await sut.swapToken(up, 'S', 'v1')).toEqual({ fresh: true, previous: undefined });
    await sut.baselineToken(up, 'T', 'v1');
    expect(await sut.swapToken(up, 'T', 'v1')).toEqual({ fresh: false });
    expect(await sut.swapToken(up, 'T', 'v2')).toEqual({ fresh: true, previous: 'v1' });
    expect(await sut.swapToken(up, 'T', 'v2')).toEqual({ fresh: false });
    await sut.baselineToken(up, 'T', 'v1');
    expect((await sut.swapToken(up, 'T', 'v2')).fresh).toBe(false);
  });

  it('undoes a swap whose push failed, only while its token is still the recorded one', async () => {
    await sut.baselineToken(up, 'T', 'v1');
    await sut.swapToken(up, 'T', 'v2');
    expect(await sut.restoreToken(up, 'T', 'v2', 'v1')).toBe(true);
    // v2 counts as new again: the next hook or poll pushes it.
    expect(await sut.swapToken(up, 'T', 'v2')).toEqual({ fresh: true, previous: 'v1' });
    // A later push recorded v3 meanwhile: undoing v2 must not bring v1 back over it.
    await sut.swapToken(up, 'T', 'v3');
    expect(await sut.restoreToken(up, 'T', 'v2', 'v1')).toBe(false);
    expect((await sut.swapToken(up, 'T', 'v3')).fresh).toBe(false);
    // No token before (or unknown, the swap itself failed): the topic is left with none.
    await sut.swapToken(up, 'U', 'u1');
    expect(await sut.restoreToken(up, 'U', 'u1')).toBe(true);
    expect(await sut.swapToken(up, 'U', 'u1')).toEqual({ fresh: true, previous: undefined });
  });

  it('keeps paths per topic and forgets them with their token', async () => {
    await sut.rememberPath(up, 'T', '/alice/cal/');
    await sut.rememberPath(up, 'U', '/bob/cal/');
    await sut.swapToken(up, 'T', 'v1');
    expect(await sut.paths(up)).toEqual(
      new Map([
        ['T', '/alice/cal/'],
        ['U', '/bob/cal/'],
      ]),
    );
    await sut.forgetPath(up, 'T');
    expect([...(await sut.paths(up)).keys()]).toEqual(['U']);
    expect((await sut.swapToken(up, 'T', 'v1')).fresh).toBe(true);
  });
});
