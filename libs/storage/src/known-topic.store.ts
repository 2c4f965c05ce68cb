import { Injectable } from '@nestjs/common';
import { digest, KEY_PREFIX } from './keys';
import { RedisService } from './redis.service';

/** One set per tenant of SHA-256 digests of its topics (never the text, as everywhere in keys.ts). */
const knownTopicsKey = (tenantId: string): string => `${KEY_PREFIX}:known-topics:${tenantId}`;

/**
 * The topics a tenant has shown davpush: asked discovery for, posted an event for, or subscribed
 * clients to through the CalConnect gateway API. A client's CC/CD 70025 `subscribe` (forwarded by
 * the calendar server) may name only known topics, unless the calendar server lists the topics the
 * user may read (draft-gajda-dav-push-00 §5.2.3.2: invalid topics fail the whole request).
 */
@Injectable()
export class KnownTopicStore {
  constructor(private readonly redis: RedisService) {}

  async add(tenantId: string, topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return;
    await this.redis.client.sadd(knownTopicsKey(tenantId), ...new Set(topics.map(digest)));
  }

  /** The topics, in the order given, that the tenant has not shown davpush. */
  async unknown(tenantId: string, topics: readonly string[]): Promise<string[]> {
    if (topics.length === 0) return [];
    const known = await this.redis.client.smismember(knownTopicsKey(tenantId), ...topics.map(digest));
    return topics.filter((_, i) => known[i] !== 1);
  }

  /** Forgets every topic of a tenant (tenant deletion). */
  async removeAllOfTenant(tenantId: string): Promise<void> {
    await this.redis.client.del(knownTopicsKey(tenantId));
  }
}
