import { Injectable } from '@nestjs/common';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { keys, KEY_PREFIX } from './keys';
import { LuaScript } from './lua-script';
import { RedisService } from './redis.service';

export interface Tenant {
  id: string;
  name: string;
  createdAt: string;
  /** Set once the tenant was revoked: its key no longer works (docs/security.md "Tenant keys: rotate, revoke, delete"). */
  revokedAt?: string;
}

export type RotateResult = { status: 'rotated'; apiKey: string } | { status: 'not-found' | 'revoked' };

const hashKey = (apiKey: string) => createHash('sha256').update(apiKey).digest('hex');
const newApiKey = () => `dpk_${randomBytes(32).toString('base64url')}`;
const API_KEY_PREFIX = `${KEY_PREFIX}:apikey:`;
/** Tenant ids are 24 hex characters; anything else is not worth a Redis round trip. */
const TENANT_ID = /^[0-9a-f]{24}$/;

/**
 * KEYS: 1 api-key index entry. ARGV: 1 tenant key prefix.
 * Returns {tenantId, stored keyHash} or nil: one round trip, compared in constant time by the caller.
 */
const AUTHENTICATE = new LuaScript(`
local id = redis.call('GET', KEYS[1])
if not id then return nil end
local stored = redis.call('HGET', ARGV[1] .. id, 'keyHash')
if not stored then return nil end
return {id, stored}
`);

/**
 * KEYS: 1 tenant hash. ARGV: 1 new key hash, 2 api-key index prefix, 3 now (ISO).
 * The old key's index entry goes and the new one comes in one step: no moment where both work.
 */
const ROTATE = new LuaScript(`
local t = redis.call('HMGET', KEYS[1], 'id', 'keyHash', 'revokedAt')
if not t[1] then return 'not-found' end
if t[3] then return 'revoked' end
if t[2] then redis.call('DEL', ARGV[2] .. t[2]) end
redis.call('HSET', KEYS[1], 'keyHash', ARGV[1], 'keyRotatedAt', ARGV[3])
redis.call('SET', ARGV[2] .. ARGV[1], t[1])
return 'rotated'
`);

/** KEYS: 1 tenant hash. ARGV: 1 now (ISO), 2 api-key index prefix. Returns revokedAt, or nil if unknown. */
const REVOKE = new LuaScript(`
local t = redis.call('HMGET', KEYS[1], 'id', 'keyHash', 'revokedAt')
if not t[1] then return nil end
if t[2] then redis.call('DEL', ARGV[2] .. t[2]) end
redis.call('HDEL', KEYS[1], 'keyHash')
if t[3] then return t[3] end
redis.call('HSET', KEYS[1], 'revokedAt', ARGV[1])
return ARGV[1]
`);

/** KEYS: 1 tenant hash, 2 tenant list. ARGV: 1 id, 2 api-key index prefix. */
const FORGET = new LuaScript(`
local h = redis.call('HGET', KEYS[1], 'keyHash')
if h then redis.call('DEL', ARGV[2] .. h) end
redis.call('DEL', KEYS[1])
return redis.call('ZREM', KEYS[2], ARGV[1])
`);

/**
 * Tenants and their API keys. Keys carry 256 random bits, so an unsalted SHA-256 is enough to make
 * the stored form useless to a reader of Redis; the plaintext is returned once and never stored.
 * Every change (create, rotate, revoke, forget) is one MULTI or Lua step. Nothing is cached, so a
 * rotation or revocation takes effect with the very next request.
 */
@Injectable()
export class TenantStore {
  constructor(private readonly redis: RedisService) {}

  async create(name: string): Promise<Tenant & { apiKey: string }> {
    const id = randomBytes(12).toString('hex');
    const apiKey = newApiKey();
    const createdAt = new Date().toISOString();
    const keyHash = hashKey(apiKey);
    await this.redis.client
      .multi()
      .hset(keys.tenant(id), { id, name, createdAt, keyHash })
      .zadd(keys.tenants(), String(Date.now()), id)
      .set(keys.apiKey(keyHash), id)
      .exec();
    return { id, name, createdAt, apiKey };
  }

  async list(): Promise<Tenant[]> {
    const ids = await this.redis.client.zrange(keys.tenants(), '0', '-1');
    const pipeline = this.redis.client.pipeline();
    ids.forEach((id) => pipeline.hmget(keys.tenant(id), 'id', 'name', 'createdAt', 'revokedAt'));
    const rows = (await pipeline.exec()) ?? [];
    return rows.map(([, v]) => toTenant(v as (string | null)[])).filter((t): t is Tenant => !!t);
  }

  async get(id: string): Promise<Tenant | undefined> {
    if (!TENANT_ID.test(id)) return undefined;
    return toTenant(await this.redis.client.hmget(keys.tenant(id), 'id', 'name', 'createdAt', 'revokedAt'));
  }

  /** The tenant id for an API key, or undefined (unknown, rotated away, or revoked). */
  async authenticate(apiKey: string): Promise<string | undefined> {
    if (!apiKey.startsWith('dpk_') || apiKey.length > 128) return undefined;
    const keyHash = hashKey(apiKey);
    // Every tenant request comes through here: EVALSHA keeps it to one small round trip.
    const found = (await AUTHENTICATE.run(this.redis.client, [keys.apiKey(keyHash)], [`${KEY_PREFIX}:tenant:`])) as
      [string, string] | null;
    if (!found) return undefined;
    // The index could be stale after a rotation; the tenant record is the truth.
    const [id, stored] = found;
    if (stored.length !== keyHash.length || !timingSafeEqual(Buffer.from(stored), Buffer.from(keyHash)))
      return undefined;
    return id;
  }

  /** A new key for the tenant, shown once; the old one stops working in the same step. */
  async rotateKey(id: string): Promise<RotateResult> {
    if (!TENANT_ID.test(id)) return { status: 'not-found' };
    const apiKey = newApiKey();
    const r = (await ROTATE.run(
      this.redis.client,
      [keys.tenant(id)],
      [hashKey(apiKey), API_KEY_PREFIX, new Date().toISOString()],
    )) as string;
    return r === 'rotated' ? { status: 'rotated', apiKey } : { status: r as 'not-found' | 'revoked' };
  }

  /** Disables the tenant for good: its key stops working at once; its data stays (see docs/security.md). */
  async revoke(id: string): Promise<Tenant | undefined> {
    if (!TENANT_ID.test(id)) return undefined;
    const revokedAt = (await REVOKE.run(
      this.redis.client,
      [keys.tenant(id)],
      [new Date().toISOString(), API_KEY_PREFIX],
    )) as string | null;
    return revokedAt ? this.get(id) : undefined;
  }

  /** Drops the tenant record itself (after its registrations were removed). */
  async forget(id: string): Promise<boolean> {
    if (!TENANT_ID.test(id)) return false;
    const r = await FORGET.run(this.redis.client, [keys.tenant(id), keys.tenants()], [id, API_KEY_PREFIX]);
    // The rate-limit bucket has its own slot (keys.ts): not part of the step above.
    await this.redis.client.del(keys.rateLimit(id));
    return r === 1;
  }
}

function toTenant([id, name, createdAt, revokedAt]: (string | null)[]): Tenant | undefined {
  if (!id) return undefined;
  return { id, name: name!, createdAt: createdAt!, ...(revokedAt ? { revokedAt } : {}) };
}
