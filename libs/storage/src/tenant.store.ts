import { Injectable } from '@nestjs/common';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { keys } from './keys';
import { RedisService } from './redis.service';

export interface Tenant {
  id: string;
  name: string;
  createdAt: string;
}

const hashKey = (apiKey: string) => createHash('sha256').update(apiKey).digest('hex');

/**
 * Tenants and their API keys. Keys carry 256 random bits, so an unsalted SHA-256 is enough to make
 * the stored form useless to a reader of Redis; the plaintext is returned once and never stored.
 */
@Injectable()
export class TenantStore {
  constructor(private readonly redis: RedisService) {}

  async create(name: string): Promise<Tenant & { apiKey: string }> {
    const id = randomBytes(12).toString('hex');
    const apiKey = `dpk_${randomBytes(32).toString('base64url')}`;
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
    ids.forEach((id) => pipeline.hmget(keys.tenant(id), 'id', 'name', 'createdAt'));
    const rows = (await pipeline.exec()) ?? [];
    return rows
      .map(([, v]) => v as (string | null)[])
      .filter((v) => v[0])
      .map(([id, name, createdAt]) => ({ id: id!, name: name!, createdAt: createdAt! }));
  }

  async get(id: string): Promise<Tenant | undefined> {
    const [tid, name, createdAt] = await this.redis.client.hmget(keys.tenant(id), 'id', 'name', 'createdAt');
    return tid ? { id: tid, name: name!, createdAt: createdAt! } : undefined;
  }

  /** The tenant id for an API key, or undefined. */
  async authenticate(apiKey: string): Promise<string | undefined> {
    if (!apiKey.startsWith('dpk_') || apiKey.length > 128) return undefined;
    const keyHash = hashKey(apiKey);
    const id = await this.redis.client.get(keys.apiKey(keyHash));
    if (!id) return undefined;
    const stored = await this.redis.client.hget(keys.tenant(id), 'keyHash');
    // The index could be stale after a rotation; the tenant record is the truth.
    if (!stored || !timingSafeEqual(Buffer.from(stored), Buffer.from(keyHash))) return undefined;
    return id;
  }
}
