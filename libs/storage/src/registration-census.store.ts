import { Injectable } from '@nestjs/common';
import { TRANSPORTS, type Transport } from '@davpush/domain';
import { transportOfValue } from './registration-record';
import { BUCKETS, keys, topicKeys } from './keys';
import { RedisService } from './redis.service';

export interface TransportSample {
  /** Live (unexpired) registrations, exact (the expiry index of every topic). */
  total: number;
  /** Registrations of each transport among those read. */
  seen: Record<Transport, number>;
  /** Registrations visited (at most `limit`), and how many of them had a readable transport. */
  visited: number;
  readable: number;
}

const PAGE = 1000;

/**
 * Read-only counts over the registration indexes, for operators (metrics, `davpush stats`).
 * Storage keeps no per-transport counter, so the transports are read from at most `limit`
 * registrations: topics soonest to expire first (the sweep's buckets), each topic's soonest first,
 * every registration of a topic (a page at a time) before the next topic. So when the topics hold
 * fewer than `limit` live registrations, `seen` is exact.
 * The total counts every topic's live registrations: one ZCOUNT per topic, sent a page at a time.
 */
@Injectable()
export class RegistrationCensusStore {
  constructor(private readonly redis: RedisService) {}

  async sampleTransports(limit: number, now = Date.now()): Promise<TransportSample> {
    const client = this.redis.client;
    const live = `(${now}`;
    let total = 0;
    const soonest: { tag: string; score: number }[] = [];
    for (let b = 0; b < BUCKETS; b++) {
      const bucket = keys.sweepBucket(b);
      for (let offset = 0; ; offset += PAGE) {
        const page = await client.zrange(bucket, String(offset), String(offset + PAGE - 1), 'WITHSCORES');
        const tags = page.filter((_, i) => i % 2 === 0);
        const counts = await Promise.all(tags.map((tag) => client.zcount(topicKeys(tag).expiry, live, '+inf')));
        total += counts.reduce((a, n) => a + n, 0);
        if (offset < limit)
          for (let i = 0; i < page.length; i += 2) soonest.push({ tag: page[i]!, score: Number(page[i + 1]) });
        if (page.length < PAGE * 2) break;
      }
    }
    soonest.sort((a, b) => a.score - b.score);
    const seen = Object.fromEntries(TRANSPORTS.map((t) => [t, 0])) as Record<Transport, number>;
    let readable = 0;
    let visited = 0;
    for (const { tag } of soonest) {
      if (visited >= limit) break;
      const k = topicKeys(tag);
      // A topic may hold more than a page: read it a page at a time, so that below `limit` every
      // registration is counted (an exact split), not the first page of each topic.
      for (let offset = 0; visited < limit; offset += PAGE) {
        const count = Math.min(PAGE, limit - visited);
        const identities = await client.zrangebyscoreBuffer(k.expiry, live, '+inf', 'LIMIT', offset, count);
        if (identities.length === 0) break;
        visited += identities.length;
        for (const value of await client.hmgetBuffer(k.registrations, ...identities)) {
          const type = transportOfValue(value);
          if (type) {
            seen[type]++;
            readable++;
          }
        }
        if (identities.length < count) break;
      }
    }
    return { total, seen, visited, readable };
  }
}
