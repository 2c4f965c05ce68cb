import { Injectable } from '@nestjs/common';
import { keys } from './keys';
import { LuaScript } from './lua-script';
import { RedisService } from './redis.service';

const proxyKeys = (upstreamId: string) => {
  // One hash tag per upstream: its keys share a slot (the MULTI of forgetPath).
  const base = keys.proxy(upstreamId);
  return { tenant: `${base}:tenant`, paths: `${base}:paths`, tokens: `${base}:tokens` };
};

/**
 * KEYS: 1 tokens hash. ARGV: 1 topic, 2 token. Returns {0} when the token is the recorded one, else
 * records it and returns {1, the token it replaced} ({1} when the topic had none).
 */
const SWAP_TOKEN = new LuaScript(`
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if previous == ARGV[2] then return {0} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if previous then return {1, previous} end
return {1}
`);

/**
 * KEYS: 1 tokens hash. ARGV: 1 topic, 2 the token a swap recorded, 3 (optional) the one it replaced.
 * Only while the topic still has ARGV[2]: puts ARGV[3] back, or removes the entry when there is no ARGV[3].
 * Returns 1 when it did, 0 when the topic has another token now (a later swap's, left alone).
 */
const RESTORE_TOKEN = new LuaScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[3] then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) else redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
`);

/** What {@link ProxyStateStore.swapToken} did: recorded a new token (and which one it replaced), or nothing. */
export type TokenSwap = { fresh: false } | { fresh: true; previous?: string };

/** KEYS: 1 tenant key. ARGV: 1 id. Deletes the key only while it still names that id. */
const FORGET_TENANT = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`);

/**
 * What the WebDAV-Push proxy keeps per upstream (docs/proxy.md): the tenant it acts for, the
 * collection path behind each topic it handed out (topics are one-way hashes, so the hook and the
 * poller need this table to find the collection again), and the last sync-token pushed per topic
 * (a change seen through the proxy, the hook and the poller is pushed once).
 */
@Injectable()
export class ProxyStateStore {
  constructor(private readonly redis: RedisService) {}

  /**
   * The proxy's tenant id; `create` runs only when none is recorded, and the first writer wins.
   * `lost` is a tenant this call created but another process recorded first (the caller drops it).
   */
  async tenant(
    upstreamId: string,
    create: () => Promise<string>,
  ): Promise<{ id: string; created: boolean; lost?: string }> {
    const k = proxyKeys(upstreamId).tenant;
    const known = await this.redis.client.get(k);
    if (known) return { id: known, created: false };
    const id = await create();
    const won = await this.redis.client.set(k, id, 'NX');
    return won ? { id, created: true } : { id: (await this.redis.client.get(k))!, created: false, lost: id };
  }

  /** Forgets a tenant id that no longer exists (deleted through the API), if it is still the one recorded. */
  async forgetTenant(upstreamId: string, id: string): Promise<void> {
    await FORGET_TENANT.run(this.redis.client, [proxyKeys(upstreamId).tenant], [id]);
  }

  async rememberPath(upstreamId: string, topic: string, canonicalPath: string): Promise<void> {
    await this.redis.client.hset(proxyKeys(upstreamId).paths, topic, canonicalPath);
  }

  async paths(upstreamId: string): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.redis.client.hgetall(proxyKeys(upstreamId).paths)));
  }

  async forgetPath(upstreamId: string, topic: string): Promise<void> {
    const k = proxyKeys(upstreamId);
    await this.redis.client.multi().hdel(k.paths, topic).hdel(k.tokens, topic).exec();
  }

  /** Records `token` as the topic's last pushed one; `fresh: false` when it already was (nothing new to push). */
  async swapToken(upstreamId: string, topic: string, token: string): Promise<TokenSwap> {
    const [fresh, previous] = (await SWAP_TOKEN.run(
      this.redis.client,
      [proxyKeys(upstreamId).tokens],
      [topic, token],
    )) as [number, string?];
    return fresh === 1 ? { fresh: true, previous } : { fresh: false };
  }

  /**
   * Undoes a {@link swapToken} whose push failed: the topic gets `previous` back (no token when
   * undefined), but only while `token` is still the recorded one, so a token a later push recorded
   * meanwhile stays. True when it was undone.
   */
  async restoreToken(upstreamId: string, topic: string, token: string, previous?: string): Promise<boolean> {
    const args = previous === undefined ? [topic, token] : [topic, token, previous];
    return (await RESTORE_TOKEN.run(this.redis.client, [proxyKeys(upstreamId).tokens], args)) === 1;
  }

  /** A baseline for a topic that has none yet (its first registration): later changes compare against it. */
  async baselineToken(upstreamId: string, topic: string, token: string): Promise<void> {
    await this.redis.client.hsetnx(proxyKeys(upstreamId).tokens, topic, token);
  }
}
