import { Injectable } from '@nestjs/common';
import { BUCKETS, digest, digestBucketOf, keys } from './keys';
import { RedisService } from './redis.service';

/** SHA-256 digests of a tenant's topics (never the text, as everywhere in keys.ts), grouped by their bucket. */
const byBucket = (topics: readonly string[]): Map<number, string[]> => {
  const groups = new Map<number, string[]>();
  for (const d of new Set(topics.map(digest)))
    groups.set(digestBucketOf(d), [...(groups.get(digestBucketOf(d)) ?? []), d]);
  return groups;
};

/**
 * The topics a tenant has shown davpush: asked discovery for, posted an event for, or subscribed
 * clients to through the CalConnect gateway API. A client's CC/CD 70025 `subscribe` (forwarded by
 * the calendar server) may name only known topics, unless the calendar server lists the topics the
 * user may read (draft-gajda-dav-push-00 §5.2.3.2: invalid topics fail the whole request).
 * Kept in {@link BUCKETS} sets per tenant, each with its own hash tag, so a busy tenant's set is
 * not one hot slot of a Redis Cluster.
 */
@Injectable()
export class KnownTopicStore {
  constructor(private readonly redis: RedisService) {}

  async add(tenantId: string, topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return;
    await Promise.all(
      [...byBucket(topics)].map(([b, digests]) => this.redis.client.sadd(keys.knownTopics(tenantId, b), ...digests)),
    );
  }

  /** The topics, in the order given, that the tenant has not shown davpush. */
  async unknown(tenantId: string, topics: readonly string[]): Promise<string[]> {
    if (topics.length === 0) return [];
    const groups = [...byBucket(topics)];
    const answers = await Promise.all(
      groups.map(([b, digests]) => this.redis.client.smismember(keys.knownTopics(tenantId, b), ...digests)),
    );
    const known = new Set(groups.flatMap(([, digests], g) => digests.filter((_, i) => answers[g]![i] === 1)));
    return topics.filter((t) => !known.has(digest(t)));
  }

  /** Forgets every topic of a tenant (tenant deletion). */
  async removeAllOfTenant(tenantId: string): Promise<void> {
    await Promise.all(Array.from({ length: BUCKETS }, (_, b) => this.redis.client.del(keys.knownTopics(tenantId, b))));
  }
}
