import { Injectable } from '@nestjs/common';
import { TRANSPORTS, type Transport } from '@davpush/domain';
import { keys, RedisService } from '@davpush/storage';
import { Cached } from './cached';

export interface RegistrationCounts {
  /** Live (unexpired) registrations, exact (ZCOUNT of the global expiry index). */
  total: number;
  /** Per transport; exact when `sampled` is false, else `total` split by the shares seen in the sample. */
  byTransport: Record<Transport, number>;
  sampled: boolean;
}

const PAGE = 1000;

/**
 * Live registrations per transport, for `davpush_registrations_live` and `davpush stats`. There is
 * no per-transport counter in storage, so this reads the `sub.type` of at most `maxScanned`
 * registrations (pipelined HGETs, a page at a time) and scales the shares up to the exact total
 * beyond that. Cached for 30 s: counts this large move slowly and the scan is not free.
 */
@Injectable()
export class RegistrationStatsService {
  static readonly TTL_MS = 30_000;
  maxScanned = 20_000;
  private readonly cache = new Cached(RegistrationStatsService.TTL_MS, () => this.count());

  constructor(private readonly redis: RedisService) {}

  counts(maxAgeMs?: number): Promise<RegistrationCounts> {
    return this.cache.get(maxAgeMs);
  }

  private async count(now = Date.now()): Promise<RegistrationCounts> {
    const client = this.redis.client;
    const live = `(${now}`;
    const total = await client.zcount(keys.registrationExpiry(), live, '+inf');
    const seen = Object.fromEntries(TRANSPORTS.map((t) => [t, 0])) as Record<Transport, number>;
    let scanned = 0;
    let visited = 0;
    for (let offset = 0; offset < Math.min(total, this.maxScanned); offset += PAGE) {
      const ids = await client.zrangebyscore(keys.registrationExpiry(), live, '+inf', 'LIMIT', offset, Math.min(PAGE, this.maxScanned - offset));
      if (ids.length === 0) break;
      visited += ids.length;
      const pipeline = client.pipeline();
      ids.forEach((id) => pipeline.hget(keys.registration(id), 'sub'));
      for (const [err, sub] of (await pipeline.exec()) ?? []) {
        const type = err ? undefined : transportOf(sub);
        if (type) {
          seen[type]++;
          scanned++;
        }
      }
      if (ids.length < PAGE) break;
    }
    const sampled = visited >= this.maxScanned && total > visited && scanned > 0;
    if (!sampled) return { total, byTransport: seen, sampled };
    const byTransport = Object.fromEntries(TRANSPORTS.map((t) => [t, Math.round((seen[t] / scanned) * total)])) as Record<Transport, number>;
    return { total, byTransport, sampled };
  }
}

/** `type` of a stored subscription JSON, or undefined for a dangling index entry or unknown type. */
export function transportOf(sub: unknown): Transport | undefined {
  if (typeof sub !== 'string') return undefined;
  try {
    const type = (JSON.parse(sub) as { type?: unknown }).type;
    return TRANSPORTS.find((t) => t === type);
  } catch {
    return undefined;
  }
}
